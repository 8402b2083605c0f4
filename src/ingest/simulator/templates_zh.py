"""The Chinese (simplified and traditional) template banks, one template per line: ``<intent> | <text>``.

Slots: ``{brand} {product} {n} {days} {price}``. Intents are those of ``INTENTS`` plus ``official``
(brand accounts' own posts); ``templates`` parses these texts, so edits here change the simulated stream.
"""

HANS_TEMPLATES = """
delivery  | 快递{days}天了还没到，{brand} 你们到底发没发货？
delivery  | 在{brand}官方店买的{product}，物流信息{days}天没更新了
delivery  | 订单显示已签收，可我根本没收到{product}！
delivery  | {brand} 的发货速度也太慢了吧，下单{days}天了还在仓库
quality   | 刚买的{product}用了{days}天就坏了，{brand} 这质量真不行
quality   | {brand} {product} 屏幕出现亮线，质量问题太明显了
quality   | {product}充不进电，才买了{n}个月，{brand} 品控呢？
quality   | 收到的{product}外壳有划痕，{brand} 是不是发了翻新机
price     | {brand} {product} 卖{price}元也太贵了吧，性价比太低
price     | 刚买完{product}就降价{n}百，{brand} 能不能保价？
price     | 同样配置别家便宜一半，{brand} 凭什么卖{price}
price     | {product}涨价了？上周还不是这个价
service   | {brand} 客服一直机器人回复，问了{n}次都没人管
service   | 打{brand}售后电话等了{n}十分钟没人接，服务太差了
service   | 申请退货{days}天了，{brand} 客服还在踢皮球
service   | {brand} 的客服态度真的很差，问个问题爱答不理
praise    | {brand} {product} 真的好用，续航超出预期！
praise    | 用了{n}个月的{product}，一点问题都没有，给{brand}点赞
praise    | 这个 {product} 颜值太高了，{brand} 设计越来越好了
praise    | {brand} 售后很给力，{days}天就换了新的{product}，好评
praise    | 这个 {brand} case 真的 amazing，颜值 max
praise    | {brand} 的 noise cancelling 效果 yyds
purchase  | 求推荐！预算{price}左右，{brand} 的{product}值得买吗？
purchase  | 想入手{brand} {product}，哪里买最便宜？
purchase  | {brand} {product} 和别家比哪个好？准备下单了
purchase  | 有没有人用过{brand}的{product}？想买一个送爸妈
purchase  | 求 link！{brand} {product} 哪里有 discount？
question  | 请问{brand} {product} 支持无线充电吗？
question  | {product}怎么连接蓝牙？说明书看不懂
question  | {brand} 的{product}保修期是多久？
question  | 有人知道{brand}线下门店在哪吗？
churn     | 再也不买{brand}了，下次换别的牌子
churn     | 用了{n}年{brand}，这次真的失望了，准备退会员
churn     | {product}退货了，{brand} 拜拜
churn     | 劝大家别买{brand}，我已经转投别家了
promotion | {brand} 双11 {product} 直降{n}百，冲！
promotion | {brand} 官方直播间{product}有满减券，需要的快去
promotion | {brand} 新品{product}预售开始了，定金{n}十元
promotion | 转发抽奖：{brand} 送{n}台{product}
app_bug   | {brand} App 更新后一直闪退，{product}连不上了
app_bug   | {brand} App 登录不了，验证码一直收不到
app_bug   | {product}固件升级失败，{brand} 快修复一下
app_bug   | {brand} App 的订单页面打不开，一直转圈
app_bug   | {product} 又 crash 了，{brand} 能不能 fix 一下
safety    | {brand} {product} 充电的时候冒烟了，太吓人了！
safety    | 我的{product}电池鼓包了，{brand} 这是安全隐患啊
safety    | {brand} {product} 发烫到烫手，孩子差点被烫伤
safety    | 听说{brand} {product} 要召回？我的也有同样问题
safety    | #{brand}{product}起火# 有同样经历的请留言
neutral   | 今天去{brand}门店逛了逛，人挺多的
neutral   | {brand} 新广告里那首歌叫什么？
neutral   | 周末整理桌面，{product}终于有地方放了
neutral   | 看到{brand}发布会了，大家怎么看？
official  | 【新品】{brand} {product} 今天正式开售，点击链接了解详情
official  | {brand} 双11狂欢：{product} 限时优惠，{n}折起
official  | 感谢大家对{brand} {product}的支持，转发本条抽{n}位送新品
official  | {brand} 服务升级：{product} 全国联保，{days}天无理由退换
answer    | 您好，感谢关注{brand}！详细信息已私信您，请查收～
answer    | 亲，{product}的问题可以在{brand}官网“服务支持”里找到说明，也可以私信小助手哦
answer    | 您好，已为您登记，{brand}客服会在{n}小时内联系您
"""
"""Simplified Chinese (zh-Hans); a few mix in English words."""

HANT_TEMPLATES = """
delivery  | 等了{days}天包裹還沒到，{brand} 到底有沒有出貨？
delivery  | {brand} 官網訂的{product}，物流{days}天都沒更新
delivery  | 訂單顯示已送達，但我根本沒收到{product}
delivery  | {brand} 出貨速度也太慢了吧，下單{days}天還在倉庫
quality   | 新買的{product}用{days}天就壞了，{brand} 品質真的不行
quality   | {brand} {product} 螢幕有亮線，明顯是品質問題
quality   | {product}充不了電，才買{n}個月，{brand} 品管在哪？
quality   | 收到的{product}外殼有刮痕，{brand} 是寄翻新機嗎
price     | {brand} {product} 賣{price}元太貴了吧，CP值好低
price     | 剛買{product}就降價{n}百，{brand} 可以補差價嗎？
price     | 同樣規格別家便宜一半，{brand} 憑什麼賣{price}
price     | {product}漲價了？上週明明不是這個價
service   | {brand} 客服一直是機器人回覆，問了{n}次都沒人處理
service   | 打{brand}客服電話等了{n}十分鐘都沒人接，服務太差
service   | 申請退貨{days}天了，{brand} 客服還在踢皮球
service   | {brand} 客服態度真的很差，問個問題愛理不理
praise    | {brand} {product} 真的好用，續航超乎預期！
praise    | 用了{n}個月的{product}完全沒問題，給{brand}一個讚
praise    | 這個{product}顏值好高，{brand} 設計越來越好了
praise    | {brand} 售後很給力，{days}天就換了新的{product}，推推
purchase  | 求推薦！預算{price}左右，{brand} 的{product}值得買嗎？
purchase  | 想入手{brand} {product}，哪裡買最便宜？
purchase  | {brand} {product} 跟別家比哪個好？準備下單了
purchase  | 有人用過{brand}的{product}嗎？想買一台送爸媽
question  | 請問{brand} {product} 支援無線充電嗎？
question  | {product}要怎麼連藍牙？說明書看不懂
question  | {brand} 的{product}保固多久？
question  | 有人知道{brand}門市在哪裡嗎？
churn     | 再也不買{brand}了，下次換別的牌子
churn     | 用了{n}年{brand}，這次真的失望了，準備取消會員
churn     | {product}退貨了，{brand} 掰掰
churn     | 勸大家別買{brand}，我已經換別家了
promotion | {brand} 雙11 {product} 直降{n}百，衝！
promotion | {brand} 官方直播{product}有折價券，需要的快去
promotion | {brand} 新品{product}開始預購了，訂金{n}十元
promotion | 分享抽獎：{brand} 送{n}台{product}
app_bug   | {brand} App 更新後一直閃退，{product}連不上了
app_bug   | {brand} App 登入不了，驗證碼一直收不到
app_bug   | {product}韌體更新失敗，{brand} 快點修復
app_bug   | {brand} App 訂單頁面打不開，一直轉圈圈
safety    | {brand} {product} 充電時冒煙了，好可怕！
safety    | 我的{product}電池膨脹了，{brand} 這是安全隱患
safety    | {brand} {product} 燙到不能拿，小孩差點被燙傷
safety    | 聽說{brand} {product} 要召回？我的也有一樣的問題
neutral   | 今天去{brand}門市逛逛，人蠻多的
neutral   | {brand} 新廣告那首歌叫什麼？
neutral   | 週末整理桌面，{product}終於有地方放了
neutral   | 看到{brand}發表會了，大家覺得如何？
official  | 【新品上市】{brand} {product} 今日開賣，詳情請點連結
official  | {brand} 雙11：{product} 限時優惠，{n}折起
official  | 感謝支持{brand} {product}，分享本文抽{n}位送新品
answer    | 您好，感謝關注{brand}！詳細資訊已私訊給您，請查收～
answer    | 您好，{product}的相關說明可以在{brand}官網「服務支援」查看，也歡迎私訊小幫手
"""
"""Traditional Chinese (zh-Hant)."""

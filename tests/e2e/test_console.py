"""The web console in a real headless Chromium against the real app (embedded storage, chDB analytics).

Fixtures live in ``conftest.py``: ``console_env`` serves the app twice on 127.0.0.1 (with and without
analytics, over one database seeded through the embedded runtime), ``page`` is a fresh browser tab.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:  # the fixtures' types, from this folder's conftest.py
    from conftest import ConsoleEnv, Page

pytestmark = pytest.mark.timeout(120)

SCREENSHOT = "/tmp/console.png"


def js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def open_console(page: Page, base_url: str, key: str = "test-key") -> None:
    page.goto(f"{base_url}/#api_key={key}")


def alert_with_text(text: str) -> str:
    """JS expression: the alert <li> whose evidence text is exactly ``text`` (or null)."""
    return (f"Array.from(document.querySelectorAll('#alerts-list li.alert')).find(li => "
            f"Array.from(li.querySelectorAll('.evidence-text')).some(q => q.textContent === {js(text)})) || null")


def test_dashboard_shows_status_alerts_and_charts(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url)

    # The key moved from the address bar to localStorage, and the key form stays hidden.
    page.wait_for("!location.hash.includes('api_key') && !location.search.includes('api_key')")
    assert page.evaluate("localStorage.getItem('scrm.console.apiKey')") == console_env.api_key
    assert page.evaluate("document.getElementById('key-overlay').hidden") is True

    # Status header.
    page.wait_for("document.getElementById('stat-runtime').textContent === 'embedded'")
    page.wait_for("document.getElementById('stat-connectors').textContent.endsWith('/1 live')",
                  message="the status bar does not show the webhook connector's health")
    assert int(page.evaluate("document.getElementById('stat-processed').textContent").replace(",", "")) >= 32
    assert page.evaluate("document.getElementById('stat-dead').textContent") == "0"

    # The Chinese negative post raised an alert, with a severity badge and its evidence.
    page.wait_for(f"({alert_with_text(console_env.chinese_negative)}) !== null", message="the Chinese alert is not listed")
    badge = page.evaluate(f"({alert_with_text(console_env.chinese_negative)}).querySelector('.sev-badge').textContent")
    assert badge.startswith("S")
    assert "@wxm88" in page.evaluate(f"({alert_with_text(console_env.chinese_negative)}).textContent")

    # Charts: stacked sentiment bars over time and the three breakdowns, with legends and tooltips.
    for chart in ("chart-sentiment", "chart-platform", "chart-brand", "chart-language"):
        page.wait_for(f"document.querySelectorAll('#{chart} svg rect.bar').length > 0",
                      message=f"{chart} has no bars")
        assert page.evaluate(f"document.querySelectorAll('#{chart} svg title').length") > 0
        assert page.evaluate(f"document.querySelectorAll('#{chart} svg .legend text').length") >= 2
    assert page.evaluate("document.getElementById('analytics-note').hidden") is True
    labels = page.evaluate("Array.from(document.querySelectorAll('#chart-platform .cat-label')).map(t => t.textContent)")
    assert {"weibo", "reddit", "x"} <= set(labels)
    languages = page.evaluate("Array.from(document.querySelectorAll('#chart-language .cat-label')).map(t => t.textContent)")
    assert "zh-Hans" in languages and "en" in languages

    # A new alert arrives over the live stream and is prepended with a highlight.
    page.wait_for("document.getElementById('live-indicator').dataset.state === 'on'")
    live_text = "Awful, terrible, broken again. Worst product ever, I want a refund!"
    console_env.post(2001, "x", "angry_al", live_text, name="Angry Al")
    page.wait_for(f"({alert_with_text(live_text)})?.classList.contains('is-new')",
                  message="the live alert did not arrive over the stream")
    assert page.evaluate(f"document.querySelector('#alerts-list li.alert') === ({alert_with_text(live_text)})")

    # Acknowledging an incident changes its state (POST with the key, answer re-rendered).
    page.evaluate(f"({alert_with_text(console_env.chinese_negative)}).setAttribute('id', 'cn-alert')")
    page.click("#cn-alert button[data-action=ack]")
    page.wait_for(f"({alert_with_text(console_env.chinese_negative)})?.querySelector('.chip.state')?.textContent "
                  "=== 'acknowledged'", message="acknowledging did not change the state")

    # Assign, comment and snooze from the console: each answer is re-rendered in place.
    cn = alert_with_text(console_env.chinese_negative)
    page.evaluate(f"({cn}).setAttribute('id', 'cn-alert')")
    page.type_into("#cn-alert input[data-action-input=assign]", "li.na")
    page.click("#cn-alert button[data-action=assign]")
    page.wait_for(f"({cn})?.textContent.includes('→ li.na')", message="assigning did not show the assignee")
    page.evaluate(f"({cn}).setAttribute('id', 'cn-alert')")
    page.type_into("#cn-alert input[data-action-input=comments]", "Called the customer back")
    page.click("#cn-alert button[data-action=comments]")
    page.wait_for(f"Array.from(({cn})?.querySelectorAll('.comments li') || [])"
                  ".some(li => li.textContent.includes('Called the customer back'))", message="the comment is not listed")
    assert page.evaluate(f"({cn}).querySelector('input[data-action-input=comments]').value") == ""
    assert page.evaluate(f"({cn}).textContent.includes('Acknowledged by') && "
                         f"Array.from(({cn}).querySelectorAll('.comments li')).some(li => li.textContent.includes('env:admin'))"), \
        "the card names who acknowledged and who commented: the key's name"
    page.evaluate(f"({cn}).setAttribute('id', 'cn-alert')")
    page.click("#cn-alert button[data-action=snooze]")
    page.wait_for(f"({cn})?.querySelector('.chip-snoozed') !== null", message="snoozing did not show")

    # Evidence expands; then a screenshot of the whole page.
    page.click("#alerts-list li.alert[data-alert-id] details summary")
    page.wait_for("document.querySelector('#alerts-list li.alert details').open")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(SCREENSHOT, full_page=True)
    assert page.exceptions() == []


def test_dashboard_charts_share_of_voice_and_the_top_topics_trend_from_the_rollups(
    console_env: ConsoleEnv, page: Page
) -> None:
    open_console(page, console_env.url)

    page.wait_for("document.querySelectorAll('#chart-voice svg rect.bar').length > 0",
                  message="the share-of-voice chart has no bars")
    brands = page.evaluate("Array.from(document.querySelectorAll('#chart-voice .cat-label')).map(t => t.textContent)")
    shares = page.evaluate("Array.from(document.querySelectorAll('#chart-voice .bar-note')).map(t => t.textContent)")
    assert len(brands) == 2 and {b.lower() for b in brands} == {"acme", "bolt"}
    assert sum(float(share.rstrip("%")) for share in shares) == pytest.approx(100, abs=0.2)

    page.wait_for("document.querySelectorAll('#chart-topics svg path.trend-line').length > 0",
                  message="the topic trend has no line")
    lines = page.evaluate("document.querySelectorAll('#chart-topics svg path.trend-line').length")
    legend = page.evaluate("Array.from(document.querySelectorAll('#chart-topics .legend text')).map(t => t.textContent)")
    assert len(legend) == lines >= 1
    assert page.evaluate("document.querySelectorAll('#chart-topics svg circle.trend-point title').length") > 0
    assert page.exceptions() == []


def test_untrusted_post_text_renders_as_text(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url)
    page.wait_for(f"({alert_with_text(console_env.xss_text)}) !== null", message="the XSS post's alert is not listed")
    assert page.evaluate("document.querySelectorAll('#alerts-list img').length") == 0

    # Find the author by identity and open the timeline: the markup is shown literally there too.
    page.type_into("#profile-q", "reddit:mallory")
    page.press_enter()
    page.wait_for("document.querySelector('#profile-rows tr .name')?.textContent === 'Mallory'")
    page.click("#profile-rows tr")
    page.wait_for(f"Array.from(document.querySelectorAll('#pv-timeline .tl-text')).some(p => p.textContent === {js(console_env.xss_text)})",
                  message="the XSS text is not shown literally in the timeline")
    assert page.evaluate("document.querySelectorAll('#profile-view img').length") == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.exceptions() == []


def test_profile_search_opens_the_360_view(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1",
                  message="the initial profile list did not load")  # as a person waits before searching
    page.type_into("#profile-q", "王小明")
    page.press_enter()  # not a click: the charts above re-render every 5 s and may shift the button
    page.wait_for("document.querySelectorAll('#profile-rows tr').length === 1 && "
                  "document.querySelector('#profile-rows tr .name').textContent === '王小明'")
    page.click("#profile-rows tr")

    page.wait_for("document.getElementById('pv-name').textContent === '王小明'")
    page.wait_for(f"Array.from(document.querySelectorAll('#pv-timeline .tl-text')).some(p => p.textContent === {js(console_env.chinese_negative)})",
                  message="the timeline does not show the post")
    identities = page.evaluate("Array.from(document.querySelectorAll('#pv-body .chip-identity')).map(c => c.textContent)")
    assert "weibo:wxm88" in identities
    assert page.evaluate("document.querySelectorAll('#pv-body .small-chart svg rect.bar').length") >= 3
    page.screenshot("/tmp/console-profile.png")

    # Closing and reopening from the alert's customer link.
    page.click("#pv-close")
    page.wait_for("document.getElementById('profile-view').hidden")
    page.wait_for(f"({alert_with_text(console_env.chinese_negative)}) !== null")
    page.evaluate(f"({alert_with_text(console_env.chinese_negative)}).setAttribute('id', 'cn-alert')")
    page.click("#cn-alert .customer-link")
    page.wait_for("!document.getElementById('profile-view').hidden && "
                  "document.getElementById('pv-name').textContent === '王小明'")

    # The lifecycle filter lists only that stage.
    page.click("#pv-close")
    page.type_into("#profile-q", "")
    page.evaluate("const s = document.getElementById('profile-lifecycle'); s.value = 'prospect';"
                  "s.dispatchEvent(new Event('change'))")
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1")
    stages = page.evaluate("Array.from(document.querySelectorAll('#profile-rows .lc')).map(s => s.textContent)")
    assert set(stages) == {"prospect"}
    assert page.exceptions() == []


def test_a_marketer_builds_previews_saves_and_exports_a_segment(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1", message="the console did not load")
    page.type_into("#segment-rule", "lifecyle = prospect")
    page.wait_for("document.getElementById('segment-preview').textContent.includes(\"unknown field 'lifecyle'\")",
                  message="a refused rule does not say why")
    page.evaluate("document.getElementById('segment-rule').value = ''")
    # the builder: field, op and value from the API's whitelist, appended to the rule's text
    page.wait_for("document.querySelectorAll('#builder-field option').length > 10", message="no builder fields")
    _choose(page, "#builder-field", "lifecycle")
    _choose(page, "#builder-op", "eq")
    _choose(page, "#builder-choice", "prospect")
    page.click("#segment-builder button[type=submit]")
    assert page.evaluate("document.getElementById('segment-rule').value") == "lifecycle = prospect"
    page.wait_for("/^[1-9][0-9,]* members now$/.test(document.getElementById('segment-preview').textContent)",
                  message="the live preview count did not show")
    page.type_into("#segment-name", "e2e-prospects")
    page.press_enter()
    row = "document.querySelector('#segment-rows tr[data-segment=\"e2e-prospects\"]')"
    page.wait_for(f"{row} !== null && Number({row}.children[2].textContent.replace(/,/g, '')) > 0",
                  message="the saved segment is not listed with its members")
    assert page.evaluate(f"{row}.children[1].textContent") == "lifecycle = prospect"
    page.wait_for(f"{row}.querySelector('svg.sparkline path.line') !== null",
                  message="no members-over-time line in the segment's row")
    page.click('#segment-rows button[data-open="e2e-prospects"]')  # rows re-render: select by data, not by id
    page.wait_for("document.querySelectorAll('#segment-member-rows tr').length > 0",
                  message="the segment's members are not listed")
    lifecycles = page.evaluate("Array.from(document.querySelectorAll('#segment-member-rows .lc'))"
                               ".map(s => s.textContent)")
    assert set(lifecycles) == {"prospect"}
    assert page.evaluate("document.getElementById('segment-members-title').textContent").startswith("e2e-prospects · ")
    page.click("#segment-member-rows tr")
    page.wait_for("!document.getElementById('profile-view').hidden", message="a member does not open its profile")
    page.evaluate("document.getElementById('pv-close').click()")

    _choose(page, "#builder-field", "events(…)")
    _choose(page, "#builder-event-platform", "weibo")
    page.type_into("#builder-event-days", "30")
    _choose(page, "#builder-op", "gte")
    page.type_into("#builder-value", "2")
    page.click("#segment-builder button[type=submit]")
    assert page.evaluate("document.getElementById('segment-rule').value") == \
        "events(platform=weibo, within_days=30) >= 2"
    page.wait_for("/ members now$/.test(document.getElementById('segment-preview').textContent)",
                  message="the built event condition was refused")
    _choose(page, "#builder-field", "crm.…")
    page.type_into("#builder-attribute", "tier")
    _choose(page, "#builder-op", "in")
    page.type_into("#builder-value", "gold, platinum plus")
    page.click("#segment-builder button[type=submit]")
    assert page.evaluate("document.getElementById('segment-rule').value").endswith(
        ' and crm.tier in (gold, "platinum plus")')
    page.wait_for("/ members now$/.test(document.getElementById('segment-preview').textContent)",
                  message="the built CRM condition was refused")
    page.evaluate("window.__downloads = []; HTMLAnchorElement.prototype.click = function () {"
                  " window.__downloads.push(this.download); }")
    page.click('#segment-rows button[data-export="e2e-prospects"]')
    page.wait_for("window.__downloads.includes('e2e-prospects.csv')", message="the export did not download")
    assert page.exceptions() == []


def _choose(page: Page, selector: str, value: str) -> None:
    """Pick ``value`` in a <select> as a person would (the change event included)."""
    page.evaluate(f"(() => {{ const s = document.querySelector({json.dumps(selector)}); s.value = {json.dumps(value)};"
                  " s.dispatchEvent(new Event('change')); })()")
    assert page.evaluate(f"document.querySelector({json.dumps(selector)}).value") == value, f"{selector}: no {value}"


def test_without_analytics_a_note_replaces_the_charts(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url_without_analytics)
    page.wait_for("!document.getElementById('analytics-note').hidden")
    assert "not configured" in page.evaluate("document.getElementById('analytics-note').textContent")
    assert page.evaluate("document.getElementById('charts').hidden") is True
    page.wait_for(f"({alert_with_text(console_env.chinese_negative)}) !== null")  # the rest still works
    assert page.exceptions() == []


def test_wrong_key_shows_the_key_form(console_env: ConsoleEnv, page: Page) -> None:
    open_console(page, console_env.url, key="wrong-key")
    page.wait_for("!document.getElementById('key-overlay').hidden", message="the key form is not shown")
    assert "not accepted" in page.evaluate("document.getElementById('key-message').textContent")
    assert page.evaluate("document.getElementById('stat-runtime').textContent") == "–"

    page.type_into("#key-input", console_env.api_key)
    page.press_enter()
    page.wait_for("document.getElementById('key-overlay').hidden")
    page.wait_for("document.getElementById('stat-runtime').textContent === 'embedded'")
    assert page.evaluate("localStorage.getItem('scrm.console.apiKey')") == console_env.api_key


def test_narrow_screen_has_no_horizontal_overflow(console_env: ConsoleEnv, page: Page) -> None:
    page.set_viewport(390, 844)
    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#chart-platform svg rect.bar').length > 0")
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    page.screenshot("/tmp/console-narrow.png")


def test_who_to_contact_today_ranks_a_buyer_and_shows_the_post_as_text(console_env: ConsoleEnv, page: Page) -> None:
    buying = "Where can I buy the Acme phone? <img src=x onerror=alert(1)>"
    console_env.post(2001, "x", "buyer1", buying, name="Buyer One")
    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1", message="the console did not load")
    page.type_into("#next-actions-brand", "Acme")
    page.press_enter()
    row = ("Array.from(document.querySelectorAll('#next-actions-rows tr'))"
           ".find(tr => tr.children[2].textContent === 'Buyer One') || null")
    page.wait_for(f"({row}) !== null", message="the ready-to-buy prospect is not listed")
    assert page.evaluate(f"({row}).children[1].textContent").startswith("Convert")
    assert "asked to buy" in page.evaluate(f"({row}).children[3].textContent")
    assert page.evaluate(f"({row}).children[4].textContent") == f"x: {buying}"
    assert page.evaluate(f"({row}).querySelector('img')") is None, "post text is rendered as text"
    assert "to contact" in page.evaluate("document.getElementById('next-actions-summary').textContent")
    assert page.exceptions() == []


def test_the_360_view_shows_the_crm_attributes_and_consent(console_env: ConsoleEnv, page: Page) -> None:
    console_env.import_crm("crm_id,name,tier,tags,consent_marketing\nC-77,Wang X,gold,vip;beta,no\n"
                           "C-78,<b>Bold</b>,silver,,yes\n")
    console_env.import_crm("crm_id,weibo\nC-77,wxm88\n")
    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1", message="the console did not load")
    page.type_into("#profile-q", "王小明")
    page.press_enter()
    page.wait_for("document.querySelectorAll('#profile-rows tr').length === 1")
    page.click("#profile-rows tr")
    page.wait_for("document.getElementById('pv-crm') !== null", message="the CRM section is missing")
    cells = page.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#pv-crm tr'))"
                          ".map(tr => [tr.children[0].textContent, tr.children[1].textContent]))")
    assert cells["tier"] == "gold" and cells["tags"] == "vip, beta" and cells["consent: marketing"] == "no"
    assert cells["consent: contact"] == "unknown"
    assert "CRM C-77" in page.evaluate("document.getElementById('pv-id').textContent")
    assert page.exceptions() == []


def test_the_360_view_pages_the_timeline_and_charts_sentiment_and_merge_history(
    console_env: ConsoleEnv, page: Page
) -> None:
    for n in range(25):  # 25 posts over ten days, every third a complaint
        text = f"第{n}次：质量太差了，退货" if n % 3 == 0 else f"第{n}次：很好用，推荐"
        console_env.post(9100 + n, "weibo", "pager1", text, name="翻页测试", minutes_ago=600 * (25 - n))
    console_env.post(9130, "douyin", "pager2", "抖音上也来说一句", name="翻页测试", minutes_ago=5)
    linked = httpx.post(f"{console_env.url}/v1/identities/links", json={"a": "weibo:pager1", "b": "douyin:pager2"},
                        headers={"X-API-Key": console_env.api_key}, timeout=30)
    assert linked.status_code == 202, linked.text
    console_env.post(9131, "weibo", "pager1", "合并以后再来", name="翻页测试")  # publishing drains: the link too

    open_console(page, console_env.url)
    page.wait_for("document.querySelectorAll('#profile-rows tr').length > 1", message="the console did not load")
    page.type_into("#profile-q", "翻页测试")
    page.press_enter()
    page.wait_for("document.querySelectorAll('#profile-rows tr').length === 1", message="the merged customer is not one row")
    page.click("#profile-rows tr")

    page.wait_for("document.querySelectorAll('#pv-timeline li').length === 20", message="no first page of 20")
    first = page.evaluate("Array.from(document.querySelectorAll('#pv-timeline li')).map(li => li.dataset.eventId)")
    assert first[:2] == ["e2e-9131", "e2e-9130"], "newest first, both accounts"
    page.click("#pv-timeline-older")
    page.wait_for("document.querySelectorAll('#pv-timeline li').length === 27 && "
                  "document.getElementById('pv-timeline-older') === null", message="the older page did not load")
    every = page.evaluate("Array.from(document.querySelectorAll('#pv-timeline li')).map(li => li.dataset.eventId)")
    assert len(set(every)) == 27 and every[-1] == "e2e-9100", "each event once, the oldest last"

    bars = page.evaluate("document.querySelectorAll('#pv-sentiment-days svg .bars .column').length")
    assert bars >= 10, "a column per day from the first post to the last"
    merges = page.evaluate("Array.from(document.querySelectorAll('#pv-merges li')).map(li => li.textContent)")
    assert len(merges) == 1 and "merge" in merges[0] and "api" in merges[0]
    assert page.exceptions() == []


def _review_row(identity: str) -> str:
    return (f"Array.from(document.querySelectorAll('#review-list li.review-row'))"
            f".find(li => li.textContent.includes({js(identity)})) || null")


def test_the_review_queue_links_a_probable_match_and_keeps_a_rejected_pair_apart(
    console_env: ConsoleEnv, page: Page
) -> None:
    # accounts no other test uses: one person on two platforms, and two strangers who share a handle
    console_env.post(9201, "weibo", "reviewq_mei", "新耳机到了，音质不错", name="林小美", followers=300)
    console_env.post(9202, "douyin", "reviewq_mei", "耳机音质真不错", name="林小美", followers=300)
    console_env.post(9203, "x", "reviewq_sam", "Battery lasts two days", name="Sam Q", followers=300)
    console_env.post(9204, "reddit", "reviewq_sam", "Charger arrived today", name="Sam Q", followers=300)
    console_env.find_matches()

    open_console(page, console_env.url)
    mei, sam = _review_row("weibo:reviewq_mei"), _review_row("reddit:reviewq_sam")
    page.wait_for(f"({mei}) !== null && ({sam}) !== null", message="the suggestions are not listed")
    evidence = page.evaluate(f"({mei}).querySelector('.review-evidence').textContent")
    assert "林小美" in evidence and "(the same)" in evidence and "douyin:reviewq_mei" in page.evaluate(
        f"({mei}).textContent")
    assert page.evaluate(f"({mei}).querySelector('.meter') !== null")

    page.evaluate(f"({mei}).setAttribute('id', 'rq-mei')")
    page.click("#rq-mei button[data-action=accept]")
    page.wait_for(f"({mei}) === null && document.getElementById('review-note').textContent.includes('Linked')",
                  message="accepting did not take the match off the queue")
    page.evaluate(f"({sam}).setAttribute('id', 'rq-sam')")
    page.click("#rq-sam button[data-action=reject]")
    page.wait_for(f"({sam}) === null && document.getElementById('review-note').textContent.includes('apart')",
                  message="rejecting did not take the pair off the queue")

    console_env.settle()  # the identity lane applies the accepted link
    headers = {"X-API-Key": console_env.api_key}
    (merged,) = httpx.get(f"{console_env.url}/v1/profiles", params={"identity": "weibo:reviewq_mei"},
                          headers=headers, timeout=30).json()
    assert set(merged["identities"]) >= {"weibo:reviewq_mei", "douyin:reviewq_mei"}
    (apart,) = httpx.get(f"{console_env.url}/v1/profiles", params={"identity": "x:reviewq_sam"},
                         headers=headers, timeout=30).json()
    assert "reddit:reviewq_sam" not in apart["identities"]
    rejected = httpx.get(f"{console_env.url}/v1/identities/suggestions", params={"state": "rejected"},
                         headers=headers, timeout=30).json()
    assert {(s["a"], s["b"]) for s in rejected} >= {("reddit:reviewq_sam", "x:reviewq_sam")}
    page.click("#review-refresh")
    page.wait_for(f"document.getElementById('review-summary').textContent.length > 0 && ({mei}) === null "
                  f"&& ({sam}) === null", message="a decided match came back")
    assert page.exceptions() == []


def test_a_digest_card_lists_every_post_it_holds(console_env: ConsoleEnv, page: Page) -> None:
    for n in range(14):  # ordinary buyers (few followers): severity 2, so one digest, not fourteen incidents
        console_env.post(9300 + n, "weibo", f"digest_buyer{n}", f"想买第{n}款耳机，哪里买？", name=f"买家{n}", followers=80)
    open_console(page, console_env.url)
    digest = ("Array.from(document.querySelectorAll('#alerts-list li.alert'))"
              ".find(li => li.textContent.includes('Digest:') && li.textContent.includes('purchase-intent')) || null")
    page.wait_for(f"({digest}) !== null", message="no purchase-intent digest is listed")
    assert page.evaluate(f"({digest}).querySelectorAll('.all-posts li').length") == 0
    page.evaluate(f"({digest}).setAttribute('id', 'digest-card'); ({digest}).querySelector('details').open = true")
    page.click("#digest-card button[data-action=all-posts]")
    page.wait_for(f"({digest})?.querySelectorAll('.all-posts li').length >= 14", message="the digest's posts did not load")
    listed = page.evaluate(f"Array.from(({digest}).querySelectorAll('.all-posts li')).map(li => li.textContent)")
    assert all(any(f"想买第{n}款耳机" in text for text in listed) for n in range(14)), "every post, each once"
    assert len(listed) == len(set(listed))
    assert page.exceptions() == []

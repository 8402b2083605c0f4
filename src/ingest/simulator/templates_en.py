"""The English template banks, one template per line: ``<intent> | <text>``.

Slots: ``{brand} {product} {n} {days} {price}``. Intents are those of ``INTENTS`` plus ``official``
(brand accounts' own posts); ``templates`` parses these texts, so edits here change the simulated stream.
"""

EN_TEMPLATES = """
delivery  | Ordered the {product} from {brand} {days} days ago and it still hasn't shipped
delivery  | Tracking for my {brand} order hasn't updated in {days} days. Anyone else?
delivery  | Package says delivered but there's no {product} at my door
delivery  | {brand} shipping is painfully slow, {days} days and counting
quality   | My {brand} {product} stopped working after {days} days. Not impressed.
quality   | Dead pixels on a brand new {product}? Come on {brand}
quality   | The {product} won't charge anymore, only had it {n} months. {brand} quality control?
quality   | Got a scratched {product} out of the box, feels like a refurb. {brand} please explain
price     | {price} for the {brand} {product}? That's way overpriced
price     | Bought the {product} and it dropped by {n}0 dollars a week later. {brand} price match?
price     | Same specs for half the price elsewhere. Why is {brand} charging {price}?
price     | Did the {product} just get more expensive?
service   | {brand} support keeps sending me bot replies, asked {n} times and nobody helps
service   | Been on hold with {brand} for {n}0 minutes. Terrible customer service.
service   | Return request open for {days} days and {brand} keeps passing me around
service   | {brand} customer service was rude and useless today
praise    | Loving my {brand} {product}, battery life is way better than expected!
praise    | {n} months with the {product} and zero issues. Great job {brand}
praise    | The {product} looks gorgeous, {brand} design keeps getting better
praise    | {brand} replaced my {product} in {days} days, amazing support
purchase  | Budget is around {price}. Is the {brand} {product} worth it?
purchase  | Where can I buy the {brand} {product} cheapest?
purchase  | {brand} {product} vs the competition, which one should I get?
purchase  | Anyone tried the {brand} {product}? Thinking of getting one for my parents
question  | Does the {brand} {product} support wireless charging?
question  | How do I pair the {product} with bluetooth? The manual is useless
question  | What's the warranty on the {brand} {product}?
question  | Is there a {brand} store near downtown?
churn     | Never buying {brand} again, switching brands next time
churn     | {n} years as a {brand} customer and I'm done. Cancelling my membership.
churn     | Returned the {product}. Bye {brand}
churn     | Don't buy {brand}, I already moved to a competitor
promotion | {brand} Black Friday deal: {product} is {n}0% off!
promotion | {brand} livestream has coupons for the {product}, go go go
promotion | Pre-orders for the new {brand} {product} are open, {n}0 dollar deposit
promotion | Giveaway: {brand} is giving away {n} x {product}, repost to enter
app_bug   | The {brand} app keeps crashing after the update, can't connect my {product}
app_bug   | Can't log into the {brand} app, verification code never arrives
app_bug   | Firmware update bricked my {product}, {brand} please fix
app_bug   | {brand} app order page just spins forever
safety    | My {brand} {product} started smoking while charging. Scary!
safety    | Battery on my {product} is swelling, this is a safety hazard {brand}
safety    | The {brand} {product} got so hot it burned my kid's hand
safety    | Is {brand} recalling the {product}? Mine has the same problem
neutral   | Stopped by the {brand} store today, pretty busy
neutral   | What's the song in the new {brand} ad?
neutral   | Finally found a spot on my desk for the {product}
neutral   | Watched the {brand} keynote, thoughts?
official  | Meet the new {brand} {product}, available today
official  | {brand} holiday sale: {product} up to {n}0% off
official  | Thanks for the love! Share this post for a chance to win a {brand} {product}
official  | {brand} now offers {days}-day no-questions-asked returns on the {product}
answer    | Hi there, thanks for reaching out to {brand}! We've sent you a DM with the details.
answer    | Good question! The {product} setup guide is on the {brand} help center, and our team is happy to help in DMs.
"""
"""English (en)."""

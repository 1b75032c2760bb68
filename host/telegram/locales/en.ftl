# Customer-facing bot texts, in English.
#
# Rules (see host/telegram/src/i18n.rs):
# - btn-*, cmd-*, toast-* are plain text: buttons, command descriptions,
#   pop-up notices. No HTML.
# - every other message is Telegram HTML: <b>, <i>, <code> may be used; write
#   a literal &, <, > as &amp;, &lt;, &gt;.
# - the messages and their arguments are listed in MESSAGES in i18n.rs;
#   uk.ftl has the same ids.

## Start and main menu

greeting = 👋 Hello, <b>{ $name }</b>!
    I can help you choose a product, place an order and check delivery. What would you like to do?
menu-title = 🏠 Main menu. What would you like to do?
btn-catalog = 🛍 Catalog
btn-cart =
    { $count ->
        [0] 🛒 Cart
       *[other] 🛒 Cart ({ $count })
    }
btn-website = 🌐 Website
btn-instagram = 📷 Instagram
btn-profile = 👤 Profile
btn-delivery = 🚚 Delivery
btn-feedback = ⭐ Feedback
btn-support = 💬 Support
btn-status = 📦 My orders
btn-help = ❓ Help
btn-menu = 🏠 Menu
btn-back = ⬅️ Back
btn-cancel = ❌ Cancel
btn-confirm = ✅ Confirm

## Catalog

catalog-header = 🛍 <b>Catalog</b> · page { $page } of { $pages }
catalog-empty = The catalog is empty for now. Please check back a little later!
catalog-stale = ⚠️ We couldn’t refresh the catalog just now, so this is how it looked at { $time }. Prices and stock may have changed.
btn-prev = ◀️ Previous
btn-next = Next ▶️
btn-page = { $page }/{ $pages }
btn-refresh = 🔄 Refresh
btn-search = 🔍 Search
search-prompt = 🔍 Type a product name or SKU and I’ll look for it in the catalog.
search-results = 🔍 { $count ->
        [one] { $count } product
       *[other] { $count } products
    } found for “{ $query }”:
search-no-results = Nothing found for “{ $query }”. Try another word or browse the whole catalog.

## Product card

product-price = 💰 Price: <b>{ $price }</b>
product-sku = SKU: <code>{ $sku }</code>
product-in-stock = ✅ In stock
product-in-stock-qty = ✅ In stock: { $qty } pcs
product-out-of-stock = ⛔ Out of stock
product-unavailable = Sorry, this product is no longer in the catalog. Have a look at the others — you may find something you like!
btn-add-to-cart = 🛒 Add to cart
btn-order-now = ⚡ Order now
btn-share = 🔗 Share
toast-added-to-cart = “{ $name }” added to your cart

## Cart

cart-title = 🛒 <b>Your cart</b>
cart-line = { $name } × { $qty } = { $sum }
cart-total = Total: <b>{ $total }</b>
cart-lines-dropped = The shop’s catalog has changed, so { $count ->
    [one] one item was
   *[other] { $count } items were
} taken out of your cart. Please add them again from the catalog.
crm-title-order = Order from Telegram
crm-title-feedback = Feedback from Telegram
crm-title-question = Question from Telegram
cart-empty = Your cart is empty. Take a look at the catalog — there’s plenty to choose from!
btn-cart-item = { $name } · { $qty } pcs
btn-cart-inc = ➕
btn-cart-dec = ➖
btn-cart-remove = 🗑
btn-checkout = ✅ Checkout
btn-cart-clear = 🧹 Clear cart
toast-cart-cleared = Cart cleared

## Checkout

checkout-ask-phone = 📞 To place your order, please share your phone number: tap “{ btn-share-phone }” below or type the number, for example +380501234567.
btn-share-phone = 📱 Share my number
checkout-foreign-contact = That looks like someone else’s contact. We need your own number for the order: tap “{ btn-share-phone }” or type it in a message.
checkout-invalid-phone = I couldn’t recognise that number 🤔 Please type it like +380501234567 or 0501234567.
checkout-summary = 📝 <b>Please check your order</b>

    { $items }

    Total: <b>{ $total }</b>
    Phone: { $phone }
    Name: { $name }

    Is everything correct?
order-sent = 🎉 Thank you! Your order No. <b>{ $number }</b> has been placed. We’ll contact you shortly to confirm the details.
order-pending = ✅ We’ve received your order and will confirm it shortly. There’s no need to send it again.
order-failed = 😔 Sorry, we couldn’t place your order. Please try again a little later or message our support.
followup-order-delivered = ✅ Your order is confirmed: No. <b>{ $number }</b>. Thank you for choosing us!
followup-order-dead = 😔 We’re very sorry: we couldn’t pass your order on to our team. Please message our support and we’ll sort it out.
followup-message-dead = 😔 Sorry, your message didn’t reach our team. Please message our support.
order-cancelled = Order cancelled. Your items are still in the cart.
checkout-phone-ok = 📞 Number saved.
order-status-pending = awaiting confirmation
order-status-received = received
order-status-cancelled = cancelled
order-status-failed = could not be submitted, please contact support

## Feedback and questions

feedback-prompt = ✍️ Please write your feedback in one message — we read every one.
feedback-thanks = 💛 Thank you for your feedback! It helps us get better.
input-truncated = ✂️ Your message is too long: the shop will get the first { $max } characters.
question-confirm = Send this message to the shop as a question?

    <i>{ $text }</i>
btn-send-question = ✅ Yes, send it
question-sent = 📨 Your question has been sent! We’ll reply here in this chat as soon as we can.
question-cancelled = Alright, nothing was sent.

## Profile

profile-view = 👤 <b>Your profile</b>

    Telegram ID: <code>{ $id }</code>
    Name: { $name }
    Phone: { $phone }
    Email: { $email }
profile-not-set = not set
btn-edit-phone = 📱 Change phone
btn-edit-email = ✉️ Change email
btn-edit-name = ✏️ Change name
profile-orders-title = 📦 <b>Your orders</b>
profile-order-line = No. { $number } of { $date } — { $status }
profile-no-orders = You haven’t ordered anything yet.
profile-ask-phone = Type your new phone number (for example +380501234567) or share it with the button below.
profile-ask-email = Please type your email address:
profile-ask-name = How should we address you? Type your name:
profile-invalid-email = That doesn’t look like an email address. Please try again, for example: name@example.com
profile-saved = ✅ Saved!

## Order status

status-choose = 📦 Choose an order from the list or type its number:
btn-order = No. { $number } · { $date }
status-result-final = 📦 Order No. { $number }: <b>{ $status }</b>
    This order is complete.
status-result-progress = 📦 Order No. { $number }: <b>{ $status }</b>
    The order is in progress. You can check its status at any time with /status.
status-no-orders = You have no orders yet. A good time to look at the catalog!
status-unknown = We couldn’t find order No. { $number } among yours. Please check the number.

## Delivery

delivery-ask-location = 📍 Please send your location with the button below and I’ll work out the delivery cost.
btn-send-location = 📍 Send my location
delivery-estimate = 🚚 You’re about { $distance } km away — delivery costs <b>{ $price }</b>.
delivery-outside = 😔 Sorry, you’re outside our delivery area (about { $distance } km away). Message our support and we’ll try to work something out.
delivery-flat = 🚚 <b>Delivery</b>

    { $text }

## Commands and service messages

help = ℹ️ <b>What I can do</b>

    /start — { cmd-start }
    /catalog — { cmd-catalog }
    /cart — { cmd-cart }
    /status — { cmd-status }
    /cancel — { cmd-cancel }
    /help — { cmd-help }
    /stop — { cmd-stop }

    You can also just type a message — I’ll offer to send it to the shop as a question.
cancel-done = Alright, cancelled. Back to the menu.
stop-goodbye = 👋 Goodbye! Whenever you want to come back, just send /start.
hint-unexpected = I didn’t quite get that 🙂 Please use the buttons or send /help.
button-stale = ⌛ This button is out of date. Here is the current menu:
toast-button-stale = This button is out of date
error-generic = 😔 Something went wrong. Please try again.
cmd-start = Main menu
cmd-catalog = Product catalog
cmd-cart = My cart
cmd-status = Order status
cmd-cancel = Cancel the current action
cmd-help = Help and commands
cmd-stop = Stop the bot

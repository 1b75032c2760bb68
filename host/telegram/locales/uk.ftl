# Тексти бота для покупців, українською (мова за замовчуванням).
#
# Правила (див. host/telegram/src/i18n.rs):
# - btn-*, cmd-*, toast-* — звичайний текст: кнопки, описи команд, спливні
#   підказки. Без HTML.
# - усі інші повідомлення — Telegram HTML: можна <b>, <i>, <code>; символи
#   &, <, > у самому тексті пишіть як &amp;, &lt;, &gt;.
# - набір повідомлень і їхніх аргументів — у списку MESSAGES в i18n.rs;
#   en.ftl має ті самі id.

## Початок і головне меню

greeting = 👋 Вітаємо, <b>{ $name }</b>!
    Я допоможу обрати товар, оформити замовлення й дізнатися про доставку. Оберіть, що вас цікавить:
menu-title = 🏠 Головне меню. Оберіть, що вас цікавить:
btn-catalog = 🛍 Каталог
btn-cart =
    { $count ->
        [0] 🛒 Кошик
       *[other] 🛒 Кошик ({ $count })
    }
btn-website = 🌐 Сайт
btn-instagram = 📷 Instagram
btn-profile = 👤 Профіль
btn-delivery = 🚚 Доставка
btn-feedback = ⭐ Відгук
btn-support = 💬 Підтримка
btn-status = 📦 Мої замовлення
btn-help = ❓ Допомога
btn-menu = 🏠 Меню
btn-back = ⬅️ Назад
btn-cancel = ❌ Скасувати
btn-confirm = ✅ Підтвердити

## Каталог

catalog-header = 🛍 <b>Каталог</b> · сторінка { $page } з { $pages }
catalog-empty = Каталог поки що порожній. Зазирніть, будь ласка, трохи згодом!
catalog-stale = ⚠️ Зараз не вдалося оновити каталог, тому показуємо його станом на { $time }. Ціни та наявність могли змінитися.
btn-prev = ◀️ Попередня
btn-next = Наступна ▶️
btn-page = { $page }/{ $pages }
btn-refresh = 🔄 Оновити
btn-search = 🔍 Пошук
search-prompt = 🔍 Напишіть назву товару або артикул — я пошукаю в каталозі.
search-results = 🔍 За запитом «{ $query }» знайдено { $count } { $count ->
        [one] товар
        [few] товари
        [many] товарів
       *[other] товару
    }:
search-no-results = За запитом «{ $query }» нічого не знайшлося. Спробуйте інше слово або перегляньте весь каталог.

## Картка товару

product-price = 💰 Ціна: <b>{ $price }</b>
product-sku = Артикул: <code>{ $sku }</code>
product-in-stock = ✅ Є в наявності
product-in-stock-qty = ✅ Є в наявності: { $qty } шт.
product-out-of-stock = ⛔ Немає в наявності
product-unavailable = На жаль, цього товару вже немає в каталозі. Погляньте, будь ласка, на інші — можливо, щось сподобається!
btn-add-to-cart = 🛒 У кошик
btn-order-now = ⚡ Замовити зараз
btn-share = 🔗 Поділитися
toast-added-to-cart = «{ $name }» додано до кошика

## Кошик

cart-title = 🛒 <b>Ваш кошик</b>
cart-line = { $name } × { $qty } = { $sum }
cart-total = Разом: <b>{ $total }</b>
cart-lines-dropped = Каталог магазину змінився, тому з кошика прибрано позицій: { $count }. Додайте їх знову з каталогу, будь ласка.
crm-title-order = Замовлення з Telegram
crm-title-feedback = Відгук з Telegram
crm-title-question = Питання з Telegram
cart-empty = Ваш кошик поки порожній. Загляньте до каталогу — там є що обрати!
btn-cart-item = { $name } · { $qty } шт.
btn-cart-inc = ➕
btn-cart-dec = ➖
btn-cart-remove = 🗑
btn-checkout = ✅ Оформити замовлення
btn-cart-clear = 🧹 Очистити кошик
toast-cart-cleared = Кошик очищено

## Оформлення замовлення

checkout-ask-phone = 📞 Щоб оформити замовлення, поділіться, будь ласка, номером телефону: натисніть кнопку «{ btn-share-phone }» нижче або напишіть номер, наприклад +380501234567.
btn-share-phone = 📱 Надіслати мій номер
checkout-foreign-contact = Схоже, це контакт іншої людини. Для замовлення потрібен саме ваш номер: натисніть «{ btn-share-phone }» або напишіть його повідомленням.
checkout-invalid-phone = Не вдалося розпізнати номер 🤔 Напишіть його, будь ласка, у форматі +380501234567 або 0501234567.
checkout-summary = 📝 <b>Перевірте, будь ласка, замовлення</b>

    { $items }

    Разом: <b>{ $total }</b>
    Телефон: { $phone }
    Ім’я: { $name }

    Усе правильно?
order-sent = 🎉 Дякуємо! Ваше замовлення № <b>{ $number }</b> прийнято. Невдовзі ми зв’яжемося з вами, щоб усе уточнити.
order-pending = ✅ Ми отримали ваше замовлення й невдовзі його підтвердимо. Надсилати його ще раз не потрібно.
order-failed = 😔 На жаль, не вдалося оформити замовлення. Спробуйте, будь ласка, трохи згодом або напишіть нам у підтримку.
followup-order-delivered = ✅ Ваше замовлення підтверджено: № <b>{ $number }</b>. Дякуємо, що обрали нас!
followup-order-dead = 😔 Нам дуже прикро: не вдалося передати ваше замовлення менеджерам. Напишіть нам, будь ласка, у підтримку, і ми все владнаємо.
followup-message-dead = 😔 Нам прикро: ваше повідомлення не дійшло до менеджерів. Напишіть нам, будь ласка, у підтримку.
order-cancelled = Замовлення скасовано. Товари залишилися у вашому кошику.
checkout-phone-ok = 📞 Номер збережено.
order-status-pending = очікує підтвердження
order-status-received = прийнято
order-status-cancelled = скасовано
order-status-failed = не вдалося передати, зверніться до підтримки

## Відгуки та запитання

feedback-prompt = ✍️ Напишіть, будь ласка, ваш відгук одним повідомленням — ми уважно читаємо кожен.
feedback-thanks = 💛 Дякуємо за відгук! Це допомагає нам ставати кращими.
input-truncated = ✂️ Повідомлення задовге: магазин отримає перші { $max } символів.
question-confirm = Надіслати це повідомлення магазину як запитання?

    <i>{ $text }</i>
btn-send-question = ✅ Так, надіслати
question-sent = 📨 Запитання надіслано! Ми відповімо вам тут, у чаті, щойно зможемо.
question-cancelled = Гаразд, нічого не надсилаємо.

## Профіль

profile-view = 👤 <b>Ваш профіль</b>

    Telegram ID: <code>{ $id }</code>
    Ім’я: { $name }
    Телефон: { $phone }
    E-mail: { $email }
profile-not-set = не вказано
btn-edit-phone = 📱 Змінити телефон
btn-edit-email = ✉️ Змінити e-mail
btn-edit-name = ✏️ Змінити ім’я
profile-orders-title = 📦 <b>Ваші замовлення</b>
profile-order-line = № { $number } від { $date } — { $status }
profile-no-orders = Ви ще нічого не замовляли.
profile-ask-phone = Напишіть новий номер телефону (наприклад, +380501234567) або надішліть його кнопкою нижче.
profile-ask-email = Напишіть, будь ласка, вашу адресу електронної пошти:
profile-ask-name = Як до вас звертатися? Напишіть ваше ім’я:
profile-invalid-email = Це не схоже на адресу електронної пошти. Спробуйте ще раз, наприклад: name@example.com
profile-saved = ✅ Збережено!

## Статус замовлення

status-choose = 📦 Оберіть замовлення зі списку або напишіть його номер:
btn-order = № { $number } · { $date }
status-result-final = 📦 Замовлення № { $number }: <b>{ $status }</b>
    Роботу із цим замовленням завершено.
status-result-progress = 📦 Замовлення № { $number }: <b>{ $status }</b>
    Замовлення ще в роботі. Перевірити статус можна будь-коли командою /status.
status-no-orders = У вас поки немає замовлень. Саме час зазирнути до каталогу!
status-unknown = Замовлення № { $number } не знайдено серед ваших. Перевірте, будь ласка, номер.

## Доставка

delivery-ask-location = 📍 Надішліть, будь ласка, свою геолокацію кнопкою нижче — і я порахую вартість доставки.
btn-send-location = 📍 Надіслати геолокацію
delivery-estimate = 🚚 До вас приблизно { $distance } км — доставка коштуватиме <b>{ $price }</b>.
delivery-outside = 😔 На жаль, ви поза зоною нашої доставки (приблизно { $distance } км від нас). Напишіть нам у підтримку — разом щось придумаємо.
delivery-flat = 🚚 <b>Доставка</b>

    { $text }

## Команди та службові повідомлення

help = ℹ️ <b>Що я вмію</b>

    /start — { cmd-start }
    /catalog — { cmd-catalog }
    /cart — { cmd-cart }
    /status — { cmd-status }
    /cancel — { cmd-cancel }
    /help — { cmd-help }
    /stop — { cmd-stop }

    А ще можна просто написати повідомлення — я запропоную надіслати його магазину як запитання.
cancel-done = Гаразд, скасовано. Повертаємося до меню.
stop-goodbye = 👋 До зустрічі! Захочете повернутися — просто надішліть /start.
hint-unexpected = Я не зовсім зрозумів 🙂 Скористайтеся, будь ласка, кнопками або надішліть /help.
button-stale = ⌛ Ця кнопка вже застаріла. Ось актуальне меню:
toast-button-stale = Ця кнопка вже застаріла
error-generic = 😔 Щось пішло не так. Спробуйте, будь ласка, ще раз.
cmd-start = Головне меню
cmd-catalog = Каталог товарів
cmd-cart = Мій кошик
cmd-status = Статус замовлення
cmd-cancel = Скасувати поточну дію
cmd-help = Допомога та команди
cmd-stop = Зупинити бота

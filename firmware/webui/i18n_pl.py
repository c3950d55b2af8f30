"""Polish for the panel: English message -> Polish. Keep in step with the templates
(tests/webui/test_i18n.py fails when a message has no translation)."""

CATALOG: dict[str, str] = {
    # navigation and common words
    "Dashboard": "Pulpit",
    "Calls": "Połączenia",
    "Call back": "Oddzwoń",
    "Settings": "Ustawienia",
    "Sign in": "Zaloguj się",
    "Sign out": "Wyloguj",
    "Signed out.": "Wylogowano.",
    "Back to the panel": "Wróć do panelu",
    "Save": "Zapisz",
    "Later": "Później",
    "Show": "Pokaż",
    "Filter": "Filtruj",
    "Reset": "Wyczyść",
    "All": "Wszystkie",
    "Everyone": "Wszyscy",
    "yes": "tak",
    "no": "nie",
    "now": "teraz",
    "new": "nowy",
    "history": "historia",
    "d": "d",
    "(none)": "(brak)",
    "(keep)": "(bez zmian)",
    "Pages": "Strony",
    "Newer": "Nowsze",
    "Older": "Starsze",
    "Network error, try again.": "Błąd sieci, spróbuj ponownie.",
    # first run and sign-in
    "Welcome": "Witamy",
    "Welcome to your Callbox": "Witamy w Callboxie",
    "Create the owner's account. The owner sees everything and adds staff in Settings, "
    "Users.": "Utwórz konto właściciela. Właściciel widzi wszystko i dodaje pracowników "
              "w Ustawieniach, Użytkownicy.",
    "User name": "Nazwa użytkownika",
    "Password": "Hasło",
    "Password again": "Powtórz hasło",
    "(at least 8 characters)": "(co najmniej 8 znaków)",
    "Create owner": "Utwórz właściciela",
    "The two passwords differ.": "Hasła się różnią.",
    "Fill in every field.": "Wypełnij wszystkie pola.",
    "Wrong user name or password.": "Błędna nazwa użytkownika lub hasło.",
    "Too many failed attempts. Try again in %(seconds)s s.":
        "Zbyt wiele nieudanych prób. Spróbuj ponownie za %(seconds)s s.",
    "user names are 1-32 letters, digits, dots, dashes or underscores":
        "nazwa użytkownika to 1-32 litery, cyfry, kropki, myślniki lub podkreślenia",
    "the password needs at least 8 characters": "hasło musi mieć co najmniej 8 znaków",
    "the password may have at most 200 characters": "hasło może mieć najwyżej 200 znaków",
    "the owner has already been created": "właściciel został już utworzony",
    # errors
    "The form has expired": "Formularz wygasł",
    "Reload the page and try again.": "Odśwież stronę i spróbuj ponownie.",
    "Not allowed": "Brak dostępu",
    "Page not found": "Nie ma takiej strony",
    "Too much data": "Za dużo danych",
    "The box is busy": "Urządzenie jest zajęte",
    # dashboard
    "Period": "Okres",
    "Today": "Dziś",
    "7 days": "7 dni",
    "30 days": "30 dni",
    "From": "Od",
    "To": "Do",
    "Dates not understood, showing the last 7 days.":
        "Nie rozpoznano dat, pokazuję ostatnie 7 dni.",
    "Key figures": "Najważniejsze liczby",
    "Answered": "Odebrane",
    "Missed": "Nieodebrane",
    "Unanswered": "Bez odpowiedzi",
    "To call back": "Do oddzwonienia",
    "Average wait": "Średni czas czekania",
    "Target calls": "Rozmowy docelowe",
    "First-time callers": "Nowi dzwoniący",
    "Value": "Wartość",
    "Enlarge": "Powiększ",
    "No calls in this period.": "Brak połączeń w tym okresie.",
    "Top campaigns": "Najlepsze kampanie",
    "Top sources": "Najlepsze źródła",
    "Calls per hour": "Połączenia według godzin",
    "Value over time": "Wartość w czasie",
    "Total: %(value)s": "Razem: %(value)s",
    "Caller line type": "Rodzaj linii dzwoniących",
    "Mobile": "Komórkowa",
    "Landline": "Stacjonarna",
    "Landline or mobile": "Stacjonarna lub komórkowa",
    "Toll-free": "Bezpłatna",
    "VoIP": "VoIP",
    "Premium rate": "Płatna (premium)",
    "Unknown": "Nieznana",
    # call history
    "Campaign": "Kampania",
    "Source": "Źródło",
    "Status": "Status",
    "Direction": "Kierunek",
    "Person": "Osoba",
    "Number": "Numer",
    "Filter not understood:": "Nie rozpoznano filtra:",
    "When": "Kiedy",
    "Caller": "Dzwoniący",
    "Wait": "Czekanie",
    "Talk": "Rozmowa",
    "Answered by": "Odebrał(a)",
    "Wrap-up": "Podsumowanie",
    "Wrap up": "Podsumuj",
    "No calls match this filter.": "Żadne połączenie nie pasuje do filtra.",
    "Inbound": "Przychodzące",
    "Outbound": "Wychodzące",
    "Internal": "Wewnętrzne",
    "Ringing": "Dzwoni",
    "In progress": "W toku",
    "Failed": "Nieudane",
    "Busy": "Zajęte",
    "Call": "Połączenie",
    "Call details": "Szczegóły połączenia",
    "Dialled": "Wybrany numer",
    "Target call": "Rozmowa docelowa",
    "First-time caller": "Nowy dzwoniący",
    # wrap-up
    "Wrap up the call": "Podsumuj rozmowę",
    "Rating": "Ocena",
    "Tags": "Tagi",
    "(separate with commas)": "(oddziel przecinkami)",
    "Tags used before": "Wcześniej użyte tagi",
    "Category": "Kategoria",
    "Comment": "Komentarz",
    "Wrap-up saved.": "Zapisano podsumowanie.",
    # callbacks
    "Waiting": "Czeka",
    "since": "od",
    "Last missed": "Ostatnie nieodebrane",
    "Missed calls": "Nieodebrane",
    "Tries": "Próby",
    "Dismiss": "Usuń z listy",
    "Reason": "Powód",
    "Nobody is waiting for a call back.": "Nikt nie czeka na oddzwonienie.",
    "Called back from a mobile": "Oddzwoniono z komórki",
    "Spam": "Spam",
    "Wrong number": "Pomyłka",
    "Already a customer": "Już jest klientem",
    "Handled by e-mail": "Załatwione e-mailem",
    "Give a reason to dismiss %(number)s.": "Podaj powód usunięcia %(number)s.",
    "%(number)s is no longer waiting.": "%(number)s już nie czeka.",
    "%(number)s taken off the list.": "Usunięto %(number)s z listy.",
    # settings
    "Wrap-up categories": "Kategorie podsumowań",
    "One per line. Staff pick one when they wrap up a call.":
        "Jedna w wierszu. Pracownicy wybierają ją, podsumowując rozmowę.",
    "Categories saved.": "Zapisano kategorie.",
    "a category has at most 40 characters": "kategoria może mieć najwyżej 40 znaków",
    "at most 50 categories": "najwyżej 50 kategorii",
    "Panel users": "Użytkownicy panelu",
    "Role": "Rola",
    "Extension": "Numer wewnętrzny",
    "Owner": "Właściciel",
    "Staff": "Pracownik",
    "Box configuration": "Konfiguracja urządzenia",
    "The box runs on its built-in demo settings. Start it with a config file (callbox run "
    "--config callbox.toml) to edit the settings here.":
        "Urządzenie działa na wbudowanych ustawieniach demonstracyjnych. Uruchom je z plikiem "
        "konfiguracji (callbox run --config callbox.toml), aby edytować ustawienia tutaj.",
    "Checked before saving; the box uses the new settings at once.":
        "Sprawdzane przed zapisem; urządzenie od razu używa nowych ustawień.",
    "Save and apply": "Zapisz i zastosuj",
    "Settings saved and applied.": "Zapisano i zastosowano ustawienia.",
    # reports
    "Reports": "Raporty",
    "Report builder": "Kreator raportów",
    "Build a report": "Utwórz raport",
    "Weekly summary": "Podsumowanie tygodnia",
    "Saved reports": "Zapisane raporty",
    "None yet. Build a report, then save it under a name to find it here.":
        "Jeszcze brak. Utwórz raport i zapisz go pod nazwą, aby znaleźć go tutaj.",
    "Delete": "Usuń",
    "Nothing to show for this period.": "Brak danych w tym okresie.",
    "Not understood, showing the defaults:": "Nie rozpoznano, pokazuję ustawienia domyślne:",
    "Total": "Razem",
    "Calls from campaigns": "Połączenia z kampanii",
    "Calls, target calls, new callers, missed, value and cost per call.":
        "Połączenia, rozmowy docelowe, nowi dzwoniący, nieodebrane, wartość i koszt połączenia.",
    "Cost: each campaign's cost per month, spread over the period.":
        "Koszt: miesięczny koszt kampanii rozłożony na dni okresu.",
    "% missed": "% nieodebranych",
    "Cost": "Koszt",
    "Cost per call": "Koszt połączenia",
    "Cost per target call": "Koszt rozmowy docelowej",
    "New campaign check": "Kontrola nowej kampanii",
    "Is a new number working: first call, calls since, days with none.":
        "Czy nowy numer działa: pierwsze połączenie, połączenia od tego czasu, dni bez połączeń.",
    "Counted from each campaign's first call in the period.":
        "Liczone od pierwszego połączenia każdej kampanii w tym okresie.",
    "First call": "Pierwsze połączenie",
    "Calls since": "Połączenia od startu",
    "Days since": "Dni od startu",
    "Days with no call": "Dni bez połączeń",
    "Latest days with no call": "Ostatnie dni bez połączeń",
    "Last call": "Ostatnie połączenie",
    "Missed calls not yet called back": "Nieodebrane, jeszcze bez oddzwonienia",
    "Who still waits, for how long, and how often we tried.":
        "Kto wciąż czeka, jak długo i ile było prób.",
    "The list as it stands now, whatever the period.":
        "Lista w obecnym stanie, niezależnie od okresu.",
    "First missed": "Pierwsze nieodebrane",
    "Per person": "Według osób",
    "Answered, missed, time to answer, talk time and utilisation.":
        "Odebrane, nieodebrane, czas do odebrania, czas rozmów i wykorzystanie.",
    "Missed: calls that rang this phone and nobody answered.":
        "Nieodebrane: połączenia, które dzwoniły na tym telefonie i nikt ich nie odebrał.",
    "Utilisation: talk time in and out over %(hours)s h of working time.":
        "Wykorzystanie: czas rozmów przychodzących i wychodzących wobec %(hours)s h pracy.",
    "Working time: 8 h Monday to Friday.": "Czas pracy: 8 h od poniedziałku do piątku.",
    "Working time: the opening hours.": "Czas pracy: godziny otwarcia.",
    "Name": "Nazwa",
    "Average time to answer": "Średni czas do odebrania",
    "Average talk": "Średnia rozmowa",
    "Total talk": "Łączny czas rozmów",
    "Utilisation": "Wykorzystanie",
    "Outgoing calls": "Połączenia wychodzące",
    "Average outgoing talk": "Średnia rozmowa wychodząca",
    "Load by hour and weekday": "Obciążenie według godzin i dni",
    "When the phones ring: a heat map of the week.":
        "Kiedy dzwonią telefony: mapa cieplna tygodnia.",
    "Inbound calls by the hour they came in.":
        "Połączenia przychodzące według godziny, o której przyszły.",
    "The average is per such weekday in the period.":
        "Średnia liczona na każdy taki dzień tygodnia w okresie.",
    "Average calls per day": "Średnio połączeń dziennie",
    "Average per day": "Średnio na dzień",
    "%(count)s calls, %(avg)s per day": "%(count)s połączeń, %(avg)s dziennie",
    "Day": "Dzień",
    "Mon": "pon",
    "Tue": "wt",
    "Wed": "śr",
    "Thu": "czw",
    "Fri": "pt",
    "Sat": "sob",
    "Sun": "niedz",
    "Fewer calls": "Mniej połączeń",
    "More calls": "Więcej połączeń",
    "Too short and too long calls": "Zbyt krótkie i zbyt długie rozmowy",
    "Calls outside the lengths you set, by person.":
        "Rozmowy spoza ustawionych długości, według osób.",
    "Shorter than": "Krótsze niż",
    "Longer than": "Dłuższe niż",
    "Too short": "Zbyt krótkie",
    "Too long": "Zbyt długie",
    "% too short": "% zbyt krótkich",
    "% too long": "% zbyt długich",
    "Length": "Długość",
    "Categories by campaign": "Kategorie według kampanii",
    "What callers of each campaign wanted, from the wrap-ups.":
        "Czego chcieli dzwoniący z każdej kampanii, według podsumowań.",
    "Answered inbound calls by the category of their wrap-up.":
        "Odebrane połączenia przychodzące według kategorii podsumowania.",
    "(no campaign)": "(bez kampanii)",
    "Missed-call recovery": "Odzyskiwanie nieodebranych",
    "How fast missed callers were won back, and what they were worth.":
        "Jak szybko odzyskano nieodebranych dzwoniących i ile byli warci.",
    "Callers whose first missed call fell in the period.":
        "Dzwoniący, których pierwsze nieodebrane połączenie przypadło w tym okresie.",
    "Recovered: a later answered call with the number, either way.":
        "Odzyskany: późniejsze odebrane połączenie z tym numerem, w dowolną stronę.",
    "By person, the shares are of their own recoveries.":
        "Według osób udziały liczone są od ich własnych odzyskań.",
    "By campaign": "Według kampanii",
    "By person": "Według osób",
    "Missed callers": "Nieodebrani dzwoniący",
    "Recovered": "Odzyskani",
    "% recovered": "% odzyskanych",
    "Median time to call back": "Mediana czasu do oddzwonienia",
    "% within 1 hour": "% w ciągu 1 godziny",
    "% the same day": "% tego samego dnia",
    "Value recovered": "Odzyskana wartość",
    "Still waiting": "Wciąż czekają",
    "Dismissed": "Usunięci z listy",
    "Called back": "Oddzwoniono",
    "Caller called again": "Dzwoniący zadzwonił ponownie",
    "Caller hung up": "Dzwoniący się rozłączył",
    "Nobody answered in time": "Nikt nie odebrał na czas",
    "No phone available": "Brak dostępnego telefonu",
    # report builder
    "Dates below": "Daty poniżej",
    "Last 7 days": "Ostatnie 7 dni",
    "Last 30 days": "Ostatnie 30 dni",
    "Last 90 days": "Ostatnie 90 dni",
    "Last 365 days": "Ostatnie 365 dni",
    "Tag": "Tag",
    "Rating from": "Ocena od",
    "Rating to": "Ocena do",
    "Talk from (s)": "Rozmowa od (s)",
    "Talk to (s)": "Rozmowa do (s)",
    "Target calls only": "Tylko rozmowy docelowe",
    "First-time callers only": "Tylko nowi dzwoniący",
    "Columns": "Kolumny",
    "Save this report as": "Zapisz raport jako",
    "e.g. Missed calls this week": "np. Nieodebrane w tym tygodniu",
    "A period like “Last 7 days” moves with the calendar.":
        "Okres typu „Ostatnie 7 dni” przesuwa się z kalendarzem.",
    "Report not saved:": "Nie zapisano raportu:",
    "Report “%(name)s” saved.": "Zapisano raport „%(name)s”.",
    "Report “%(name)s” deleted.": "Usunięto raport „%(name)s”.",
    "Why missed": "Powód nieodebrania",
    "Made by": "Dzwonił(a)",
    "Line type": "Rodzaj linii",
    "Cleared a callback": "Zamknęło oddzwonienie",
    "Call ID": "ID połączenia",
    # weekly summary
    "Week": "Tydzień",
    "Week before": "Tydzień wcześniej",
    "Week after": "Tydzień później",
    "Ready to print: use your browser's Print (Ctrl+P).":
        "Gotowe do druku: użyj opcji Drukuj przeglądarki (Ctrl+P).",
    "Missed callers recovered": "Odzyskani nieodebrani",
    # users page
    "Manage users": "Zarządzaj użytkownikami",
    "Owners see everything and manage the box. Staff see and wrap up their own extension's calls.":
        "Właściciele widzą wszystko i zarządzają urządzeniem. Pracownicy widzą i podsumowują "
        "połączenia swojego numeru wewnętrznego.",
    "you": "ty",
    "Change password": "Zmień hasło",
    "New password": "Nowe hasło",
    "Manage": "Zarządzaj",
    "User": "Użytkownik",
    "Remove %(name)s? They are signed out at once. Calls and wrap-ups stay.":
        "Usunąć %(name)s? Ta osoba zostanie od razu wylogowana. Połączenia i podsumowania "
        "zostają.",
    "Remove %(name)s": "Usuń %(name)s",
    "Add a user": "Dodaj użytkownika",
    "Using an existing name changes that user's password, role and extension and signs them out.":
        "Podanie istniejącej nazwy zmienia hasło, rolę i numer wewnętrzny tego użytkownika "
        "i go wylogowuje.",
    "Save user": "Zapisz użytkownika",
    "User %(name)s saved.": "Zapisano użytkownika %(name)s.",
    "Password changed for %(name)s.": "Zmieniono hasło użytkownika %(name)s.",
    "User %(name)s removed.": "Usunięto użytkownika %(name)s.",
    "Choose one of the box's extensions.": "Wybierz jeden z numerów wewnętrznych urządzenia.",
    "You cannot make yourself staff; another owner can.":
        "Nie możesz zmienić sobie roli na pracownika; może to zrobić inny właściciel.",
    "You cannot remove yourself; another owner can.":
        "Nie możesz usunąć samego siebie; może to zrobić inny właściciel.",
    "the last owner cannot become staff": "ostatni właściciel nie może zostać pracownikiem",
    "the last owner cannot be removed": "nie można usunąć ostatniego właściciela",
    "the role is owner or staff": "rola to właściciel lub pracownik",
    "an extension is 2 to 6 digits": "numer wewnętrzny ma od 2 do 6 cyfr",
    "a staff user needs an extension (their desk phone)":
        "pracownik potrzebuje numeru wewnętrznego (swojego telefonu)",
    # campaigns page
    "Add a campaign": "Dodaj kampanię",
    "After hours:": "Po godzinach:",
    "Campaigns": "Kampanie",
    "Cancel": "Anuluj",
    "Cost per month": "Koszt miesięczny",
    "Each advert gets its own number on the trunk. Calls to that number are counted for its "
    "campaign and ring the phones chosen here.":
        "Każda reklama ma własny numer u operatora. Połączenia na ten numer liczą się dla jej "
        "kampanii i dzwonią na wybranych tu telefonach.",
    "Edit": "Edytuj",
    "Get a new number from your SIP provider for each advert and enter it here. Calls to it "
    "ring the phones you choose, all at once; the first to answer takes the call.":
        "Dla każdej reklamy weź nowy numer od operatora SIP i wpisz go tutaj. Połączenia na "
        "niego dzwonią naraz na wybranych telefonach; odbiera ten, kto pierwszy podniesie "
        "słuchawkę.",
    "How it works": "Jak to działa",
    "Lead value": "Wartość leada",
    "No campaigns yet.": "Nie ma jeszcze kampanii.",
    "Not saved:": "Nie zapisano:",
    "Phones that ring": "Telefony, które dzwonią",
    "Rings": "Dzwoni",
    "The lead value is what a call from this campaign is worth to you when it is answered; "
    "staff can change it in the wrap-up. The monthly cost gives the cost per call in the "
    "reports.":
        "Wartość leada to tyle, ile jest dla Ciebie warte odebrane połączenie z tej kampanii; "
        "pracownicy mogą ją zmienić w podsumowaniu rozmowy. Z kosztu miesięcznego raporty "
        "liczą koszt jednego połączenia.",
    "Tracked number": "Śledzony numer",
    "e.g. Outdoor, Google Ads, Print": "np. Zewnętrzna, Google Ads, Prasa",
    "e.g. Shop window": "np. Witryna sklepu",
    "Users": "Użytkownicy",
    # campaign form: field messages (config_edit.FieldError)
    "required": "wymagane",
    "choose the phones that ring": "wybierz telefony, które mają dzwonić",
    "not an extension of this box": "to nie jest numer wewnętrzny tego urządzenia",
    "must be text": "musi być tekstem",
    "must not contain control characters": "nie może zawierać znaków sterujących",
    "an amount like 300 or 300.50": "kwota, np. 300 albo 300,50",
    "too large": "za duża",
    # settings forms (settings_forms.py and its pages)
    "%(name)s removed.": "%(name)s usunięto.",
    "%(name)s saved.": "%(name)s zapisano.",
    "Remove %(name)s?": "Usunąć %(name)s?",
    "2 to 6 digits: what colleagues dial, and the phone's SIP user name":
        "od 2 do 6 cyfr: to wybierają współpracownicy i to jest nazwa użytkownika SIP telefonu",
    "A phone rings for the campaigns that list its extension. Removing a phone that a campaign "
    "rings is refused until the campaign no longer lists it.":
        "Telefon dzwoni dla kampanii, które mają jego numer wewnętrzny. Telefonu, na który "
        "dzwoni jakaś kampania, nie da się usunąć, dopóki kampania go nie odepnie.",
    "Add a desk phone": "Dodaj telefon",
    "Add a trunk": "Dodaj linię",
    "At most %(n)s entries.": "Najwyżej %(n)s pozycji.",
    "Box name": "Nazwa urządzenia",
    "By address": "Po adresie",
    "Calls to its number are tracked from now on.":
        "Połączenia na jej numer są liczone od teraz.",
    "Config file": "Plik konfiguracji",
    "Country": "Kraj",
    "Currency": "Waluta",
    "Desk phones": "Telefony",
    "General": "Ogólne",
    "Host": "Serwer",
    "New": "Nowy",
    "New caller after (days)": "Nowy dzwoniący po (dniach)",
    "None yet.": "Jeszcze nic.",
    "Port": "Port",
    "Register to the provider": "Rejestruj u operatora",
    "Registers": "Rejestruje się",
    "Registration": "Rejestracja",
    "Ring for at most (seconds)": "Dzwoń najwyżej (sekund)",
    "Rings for": "Dzwoni dla",
    "SIP password": "Hasło SIP",
    "State": "Stan",
    "Target call from (seconds)": "Połączenie docelowe od (sekund)",
    "The SIP provider's line that brings the campaign numbers to the box and carries the "
    "outgoing calls.":
        "Linia operatora SIP, która doprowadza numery kampanii do urządzenia i przenosi "
        "połączenia wychodzące.",
    "The box and the call figures": "Urządzenie i liczby połączeń",
    "The box registers with the new settings right away.":
        "Urządzenie od razu rejestruje się z nowymi ustawieniami.",
    "The desk phones that register to the box. Set each phone's SIP account to this box's "
    "address, the extension as user name and this password.":
        "Telefony, które rejestrują się w urządzeniu. W koncie SIP telefonu wpisz adres tego "
        "urządzenia, numer wewnętrzny jako nazwę użytkownika i to hasło.",
    "The phone can register with it now.": "Telefon może się już z nim zarejestrować.",
    "Time zone": "Strefa czasowa",
    "Trunks": "Linie",
    "With registration the box logs in to the provider and keeps the line up; without it, "
    "the provider sends calls to the box's address and only calls from the host are taken.":
        "Z rejestracją urządzenie loguje się u operatora i podtrzymuje linię; bez niej "
        "operator wysyła połączenia na adres urządzenia, a przyjmowane są tylko połączenia "
        "z tego serwera.",
    "a number not heard from for this long counts as new":
        "numer, który nie dzwonił tak długo, liczy się jako nowy",
    "answered and talked at least this long": "odebrane i trwające co najmniej tyle",
    "at least 8 characters, letters with digits or symbols; enter the same in the phone":
        "co najmniej 8 znaków, litery z cyframi lub symbolami; wpisz to samo w telefonie",
    "e.g. Reception": "np. Recepcja",
    "empty for a trunk that trusts the box's address":
        "puste dla linii, która ufa adresowi urządzenia",
    "for numbers written without +, like 22 123 45 67":
        "dla numerów zapisanych bez +, np. 22 123 45 67",
    "leave empty to keep the one set": "zostaw puste, aby zachować obecne",
    "unanswered this long: a missed call": "tyle bez odebrania: połączenie nieodebrane",
    "unchanged": "bez zmian",
    "a whole number": "liczba całkowita",
    # Settings > Integrations (firmware/webui/integrations_page.py)
    "Integrations": "Integracje",
    "Webhooks": "Webhooki",
    "Each call, wrap-up and cleared callback is posted to your CRM, signed with the webhook's secret. Add them as [[webhook]] in the config file; docs/webhooks.md shows the payloads and how to check the signature.":
        "Każde połączenie, podsumowanie rozmowy i wykonany oddzwon trafia do Twojego CRM, podpisane sekretem webhooka. Dodaj je jako [[webhook]] w pliku konfiguracji; docs/webhooks.md opisuje treść i sprawdzanie podpisu.",
    "URL": "URL",
    "Events": "Zdarzenia",
    "Event": "Zdarzenie",
    "Secret": "Sekret",
    "set": "ustawiony",
    "not set": "nieustawiony",
    "Send a test": "Wyślij test",
    "No webhooks yet.": "Brak webhooków.",
    "Recent deliveries": "Ostatnie wysyłki",
    "Deliveries run only in the box itself (callbox run).":
        "Wysyłki działają tylko w samym urządzeniu (callbox run).",
    "Queued": "W kolejce od",
    "Last answer": "Ostatnia odpowiedź",
    "Next try": "Następna próba",
    "next try": "następna próba",
    "Response": "Odpowiedź",
    "delivered": "dostarczono",
    "waiting": "czeka",
    "given up": "porzucono",
    "Send again": "Wyślij ponownie",
    "Nothing sent yet.": "Jeszcze nic nie wysłano.",
    "Test delivery %(id)s queued.": "Testowa wysyłka %(id)s w kolejce.",
    "Delivery %(id)s will be sent again.": "Wysyłka %(id)s zostanie wysłana ponownie.",
    "The test could not be queued: the outbox cannot be written.":
        "Nie udało się dodać testu: nie można zapisać kolejki wysyłek.",
    "Google Analytics 4": "Google Analytics 4",
    "Every ended inbound campaign call is sent as a phone_call event to":
        "Każde zakończone połączenie przychodzące z kampanii trafia jako zdarzenie phone_call do",
    "API secret:": "Sekret API:",
    "Validate": "Sprawdź",
    "Sends one example event to GA4's validation server; nothing is recorded.":
        "Wysyła jedno przykładowe zdarzenie do serwera walidacji GA4; nic nie zostaje zapisane.",
    "No answer": "Brak odpowiedzi",
    "Not set up. Add [ga4] with measurement_id and api_secret to the config file.":
        "Nieskonfigurowane. Dodaj [ga4] z measurement_id i api_secret do pliku konfiguracji.",
    "Number swap on your website": "Podmiana numeru na Twojej stronie",
    "Paste this line once into your website's pages:":
        "Wklej ten wiersz raz do stron swojej witryny:",
    "Then mark where the phone number is shown:": "Następnie oznacz, gdzie widać numer telefonu:",
    "Visitors who come from a campaign's web source see that campaign's number for their whole visit; everyone else sees the page unchanged.":
        "Odwiedzający ze źródła kampanii widzą jej numer przez całą wizytę; pozostali widzą stronę bez zmian.",
    "Web source": "Źródło w sieci",
    "Number shown": "Wyświetlany numer",
    "No campaign has a web_source yet (like web_source = 'google/cpc').":
        "Żadna kampania nie ma jeszcze web_source (np. web_source = 'google/cpc').",
    "Weekly e-mail": "Cotygodniowy e-mail",
    "The weekly summary goes to": "Podsumowanie tygodnia trafia do",
    "every Monday at 08:00, through": "w każdy poniedziałek o 08:00, przez",
    "Password:": "Hasło:",
    "Last sent:": "Ostatnio wysłano:",
    "Last attempt failed:": "Ostatnia próba nieudana:",
    "Send last week's summary now": "Wyślij teraz podsumowanie zeszłego tygodnia",
    "Not set up. Add [email] with smtp, from and weekly_to to the config file.":
        "Nieskonfigurowane. Dodaj [email] z smtp, from i weekly_to do pliku konfiguracji.",
    "The summary was sent.": "Podsumowanie wysłano.",
    "The summary was not sent: %(error)s": "Podsumowania nie wysłano: %(error)s",
    # first-run setup refused under a foreign name (issue 14.18)
    "Not set up from here": "Konfiguracja nie stąd",
    "Open the box by its address (for example http://192.168.1.20:8080/) to set it up.":
        "Aby skonfigurować urządzenie, otwórz je pod jego adresem "
        "(na przykład http://192.168.1.20:8080/).",
}

from firmware.webui.i18n_pl_calls import CALLS as _CALLS  # noqa: E402

CATALOG.update({k: v for k, v in _CALLS.items() if k not in CATALOG})
# Contacts, tasks and the funnel keep their Polish in their own module.
from firmware.webui.i18n_pl_contacts import CATALOG as _CONTACTS  # noqa: E402

CATALOG.update({k: v for k, v in _CONTACTS.items() if k not in CATALOG})
# Call recordings (issue 16) keep their Polish in their own module.
from firmware.webui.i18n_pl_recordings import CATALOG as _RECORDINGS  # noqa: E402

CATALOG.update({k: v for k, v in _RECORDINGS.items() if k not in CATALOG})
# The figures an owner acts on (issue 21): trends, missed reasons, regions, campaigns.
CATALOG.update({
    "%(points)s pp": "%(points)s pp",
    "After hours": "Poza godzinami pracy",
    "Answered in %(seconds)s s": "Odebrane w %(seconds)s s",
    "Arrows compare with the %(days)s days just before.":
        "Strzałki porównują z poprzednimi dniami (%(days)s).",
    "Call failed": "Połączenie nieudane",
    "Caller gave up while ringing": "Dzwoniący rozłączył się w trakcie dzwonienia",
    "Every phone busy": "Wszystkie telefony zajęte",
    "Figures to act on": "Liczby do działania",
    "Not recovered": "Nieodzyskane",
    "Not recovered: %(value)s": "Nieodzyskane: %(value)s",
    "Nobody answered in time": "Nikt nie odebrał na czas",
    "Nobody available": "Nikt nie był dostępny",
    "Previous period: %(value)s": "Poprzedni okres: %(value)s",
    "Value (leads)": "Wartość (leady)",
    "Where callers are from": "Skąd dzwonią",
    "Why calls were missed": "Dlaczego połączenia były nieodebrane",
    "same": "bez zmian",
})

CATALOG.update({
    "0: no chance": "0: bez szans",
    "1: hardly a chance": "1: małe szanse",
    "2: interested": "2: zainteresowany",
    "3: comparing offers": "3: porównuje oferty",
    "4: likely to buy": "4: raczej kupi",
    "5: ready to sign": "5: gotów podpisać",
    "I took this call (forwarded to my mobile)":
        "Odebrałem to połączenie (przekierowane na moją komórkę)",
})

CATALOG.update({
    "Monthly summary": "Podsumowanie miesięczne",
    "Month before": "Poprzedni miesiąc",
    "Month after": "Następny miesiąc",
    "Month": "Miesiąc",
})

CATALOG.update({
    "Answered and missed per day": "Odebrane i nieodebrane dziennie",
    "%(day)s: %(answered)s answered, %(missed)s missed":
        "%(day)s: odebrane %(answered)s, nieodebrane %(missed)s",
    "Green: answered · red: missed": "Zielone: odebrane · czerwone: nieodebrane",
})
# Calls per person per hour and too long against the average (issue 21) keep their Polish
# in their own module.
from firmware.webui.i18n_pl_figures import CATALOG as _FIGURES  # noqa: E402

CATALOG.update({k: v for k, v in _FIGURES.items() if k not in CATALOG})
# Voicemail, greetings and music on hold keep their Polish in their own module.
from firmware.webui.i18n_pl_voicemail import CATALOG as _VOICEMAIL  # noqa: E402

CATALOG.update({k: v for k, v in _VOICEMAIL.items() if k not in CATALOG})

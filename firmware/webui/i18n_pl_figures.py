"""Polish for the figures added in issue 21's second part (calls per person per hour, too long
against the campaign's average), merged into i18n_pl.CATALOG like i18n_pl_contacts.py."""

CATALOG: dict[str, str] = {
    "%% over %(times)s": "%% ponad %(times)s",
    "%(calls)s answered · most at %(hour)s": "odebrane: %(calls)s · najwięcej o %(hour)s",
    "%(count)s calls answered": "odebrane połączenia: %(count)s",
    "%(times)s× average": "%(times)s× średnia",
    "0: off": "0: wyłączone",
    "Answered calls by the hour they came in; darker: more calls.":
        "Odebrane połączenia według godziny, o której przyszły; ciemniej: więcej połączeń.",
    "Average talk by campaign": "Średnia rozmowa według kampanii",
    "Calls outside the lengths you set, or far over the average, by person.":
        "Rozmowy spoza ustawionych długości lub dużo dłuższe od średniej, według osób.",
    "Calls per person per hour": "Połączenia na osobę i godzinę",
    "Not claimed": "Nieprzypisane",
    "Or over %(times)s talk of its campaign's answered calls.":
        "Albo ponad %(times)s rozmowy odebranych połączeń tej kampanii.",
    "Over %(times)s": "Ponad %(times)s",
    "Times the average": "Wielokrotność średniej",
    "Too long (over %(times)s× average)": "Za długie (ponad %(times)s× średnia)",
    "Too long from": "Za długie od",
    "Too long: over %(seconds)s s.": "Za długie: ponad %(seconds)s s.",
    "or over": "albo ponad",
    "Cost and value by campaign": "Koszt i wartość według kampanii",
    "Red: a target call cost more than the value it brought.":
        "Na czerwono: połączenie docelowe kosztowało więcej, niż przyniosło.",
    "Report": "Raport",
    "× the campaign's average": "× średnia kampanii",
}

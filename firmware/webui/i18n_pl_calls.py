"""Polish of the live board, do not disturb and click-to-call (merged into i18n_pl.CATALOG)."""

CALLS = {
    "Call from my desk phone": "Zadzwoń z mojego telefonu na biurku",
    "Could not call": "Nie udało się zadzwonić",
    "DND off": "Nie przeszkadzać: wył.",
    "DND on": "Nie przeszkadzać: wł.",
    "Dial": "Zadzwoń",
    "Do not disturb": "Nie przeszkadzać",
    "In a call": "W rozmowie",
    "Live": "Na żywo",
    "No calls right now.": "W tej chwili nie ma połączeń.",
    "Phones": "Telefony",
    "Registered": "Zarejestrowany",
    "Since": "Od",
    "Your phone rings…": "Dzwoni Twój telefon…",
    "inbound": "przychodzące",
    "internal": "wewnętrzne",
    "on hold": "zawieszone",
    "outbound": "wychodzące",
    "ringing": "dzwoni",
    "talking": "rozmowa",
}

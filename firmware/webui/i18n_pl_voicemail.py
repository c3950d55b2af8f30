"""Polish for voicemail, greetings and music on hold (merged into i18n_pl.CATALOG), kept apart
so the voicemail work stays in its own files."""

CATALOG: dict[str, str] = {
    "%(name)s: new audio saved (%(seconds)s s).": "%(name)s: zapisano nowe nagranie (%(seconds)s s).",
    "%(name)s: not changed: %(why)s.": "%(name)s: bez zmian: %(why)s.",
    "Audio file": "Plik dźwiękowy",
    "Greeting": "Powitanie",
    "Greetings": "Powitania",
    "Music on hold": "Muzyka na czekanie",
    "The box's default": "Domyślne nagranie centralki",
    "Upload": "Wyślij",
    "Voicemail": "Poczta głosowa",
    "What a caller hears before leaving a message. Upload a WAV or MP3 file (at most "
    "%(seconds)s seconds), or record it from a desk phone that rings for the campaign: dial "
    "*98 and the campaign's number in this list, speak after the beep, hang up or press #.":
        "To słyszy dzwoniący, zanim zostawi wiadomość. Wyślij plik WAV lub MP3 (najwyżej "
        "%(seconds)s s) albo nagraj powitanie z telefonu, który dzwoni dla tej kampanii: "
        "wybierz *98 i numer kampanii z tej listy, mów po sygnale, rozłącz się lub naciśnij #.",
    "Your own recording": "Twoje nagranie",
    "converting the file took too long": "przetwarzanie pliku trwało zbyt długo",
    "off": "wył.",
    "on": "wł.",
    "the box cannot convert audio (ffmpeg is missing)":
        "centralka nie może przetworzyć dźwięku (brak programu ffmpeg)",
    "the file holds no audio": "plik nie zawiera dźwięku",
    "the file is empty": "plik jest pusty",
    "the file is larger than %(mb)s MB": "plik jest większy niż %(mb)s MB",
    "the file is not audio the box can read (WAV or MP3)":
        "to nie jest plik dźwiękowy, który centralka potrafi odczytać (WAV lub MP3)",
    "the recording is longer than %(seconds)s seconds":
        "nagranie jest dłuższe niż %(seconds)s s",
}

"""Polish for the call recordings' player, marks and warnings (merged into i18n_pl.CATALOG),
kept apart so the recordings work stays in its own files."""

CATALOG: dict[str, str] = {
    "Recording": "Nagranie",
    "Good call": "Dobra rozmowa",
    "Good calls": "Dobre rozmowy",
    "Mark as a good call": "Oznacz jako dobrą rozmowę",
    "Unmark good call": "Usuń oznaczenie dobrej rozmowy",
    "Marked as a good call.": "Oznaczono jako dobrą rozmowę.",
    "No longer marked as a good call.": "Rozmowa nie jest już oznaczona jako dobra.",
    "Delete the recording": "Usuń nagranie",
    "The recording is deleted.": "Nagranie zostało usunięte.",
    "Playback speed": "Prędkość odtwarzania",
    "The recording's file is missing or cannot be read. The call itself is kept.":
        "Brak pliku nagrania lub nie da się go odczytać. Sama rozmowa jest zachowana.",
    "This recording cannot be played: its file is missing or damaged. The call itself is kept.":
        "Nie można odtworzyć nagrania: brak pliku lub jest uszkodzony. Sama rozmowa jest "
        "zachowana.",
    "This recording was cut short (the box lost power or ran out of space); what was saved "
    "plays.": "Nagranie zostało przerwane (brak zasilania lub miejsca); odtwarza się to, co "
              "zapisano.",
    "Still being recorded.": "Nagrywanie trwa.",
    "Calls marked as good examples: play them to someone new on the phones.":
        "Rozmowy oznaczone jako dobre przykłady: odtwórz je nowej osobie przy telefonie.",
    "Recording is stopped: less than %(mb)s MB free on the box's disk. Calls are still taken.":
        "Nagrywanie wstrzymane: mniej niż %(mb)s MB wolnego miejsca na dysku urządzenia. "
        "Połączenia są nadal odbierane.",
    "Marked by": "Oznaczył(a)",
    "No recording (deleted or never made)": "Brak nagrania (usunięte lub nie powstało)",
    "No call is marked yet. Open a recorded call and press “Mark as a good call”.":
        "Żadna rozmowa nie jest jeszcze oznaczona. Otwórz nagraną rozmowę i naciśnij "
        "„Oznacz jako dobrą rozmowę”.",
    "Last conversation": "Ostatnia rozmowa",
}

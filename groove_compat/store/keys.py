"""Sort keys of catalog tracks: what browse orders compare, computed once when a track is stored.

Browse orders names alphabetically "as a person reads them": case and accents do not count (``Éloïse`` sorts
with ``eloise``), which SQLite's NOCASE collation cannot do beyond ASCII. So each track row carries
normalised key columns, compared byte-wise by plain indexes; keyset paging then seeks straight to a page.
Every key is NOT NULL, so row-value comparisons (``(a, b, id) > (?, ?, ?)``) never meet a NULL.
"""

import datetime
import functools
import unicodedata

# Track numbers absent from the catalog sort after every real number.
NO_TRACK_NUMBER = 2**31 - 1
# Release dates sort newest first: the key is minus the day number; tracks without a date sort last.
NO_RELEASE_DATE = 1


@functools.lru_cache(maxsize=65536)
def text_key(value):
    """Case- and accent-insensitive key of a name; '' when there is none.

    Cached: a catalog repeats its artist and album names on every track of them.
    """
    if not value:
        return ""
    if value.isascii():
        return value.lower()  # no accents to strip, and ASCII casefold is lower()
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(character for character in decomposed if not unicodedata.combining(character)).casefold()


def release_key(release_date):
    """Minus the proleptic day number of an ISO date text ``YYYY-MM-DD`` (newest first); NO_RELEASE_DATE if none."""
    if not release_date:
        return NO_RELEASE_DATE
    try:
        return -datetime.date.fromisoformat(release_date[:10]).toordinal()
    except ValueError:
        return NO_RELEASE_DATE


def number_key(track_number):
    return NO_TRACK_NUMBER if track_number is None else int(track_number)


def track_keys(*, title, artist, album, track_number, genre=None, release_date=None):
    """``(title_key, artist_key, album_key, genre_key, release_key, number_key)`` of one track."""
    return (
        text_key(title),
        text_key(artist),
        text_key(album),
        text_key(genre),
        release_key(release_date),
        number_key(track_number),
    )

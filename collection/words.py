"""The phrase tables the demo collection combines with its seeded RNG for labels and names."""

from __future__ import annotations

from ledger.vocabulary import Emotion, FailureType, StageRole


def _words(text: str) -> tuple[str, ...]:
    """Phrase tables of single words, written as one string to keep the tables short."""
    return tuple(text.split())


# --------------------------------------------------------------------------------------------
# Phrase tables (small on purpose: variety comes from combining them with the seeded RNG)
# --------------------------------------------------------------------------------------------

FAMILIES: tuple[str, ...] = (
    "rings",
    "stripes",
    "spiral",
    "grid",
    "blobs",
    "triangles",
    "waves",
    "dots",
)

_MOTIFS: dict[str, tuple[str, ...]] = {
    "rings": ("rings", "ripples", "concentric circles", "tree rings"),
    "stripes": ("stripes", "bands", "slanted lines", "barcode"),
    "spiral": ("spiral", "coil", "whirlpool", "snail shell"),
    "grid": ("grid of squares", "tiles", "windows", "quilt blocks"),
    "blobs": ("blobs", "puddles", "pebbles", "cells"),
    "triangles": ("triangles", "nested peaks", "pyramid", "shards"),
    "waves": ("waves", "currents", "dunes", "wavy lines"),
    "dots": ("dots", "halftone", "freckles", "dot screen"),
}

_TITLE_NOUNS: dict[str, tuple[str, ...]] = {
    "rings": ("Echo", "Well", "Tree Rings", "Ripple", "Target"),
    "stripes": ("Fence", "Rain", "Tide Lines", "Awning", "Barcode"),
    "spiral": ("Whirlpool", "Snail", "Galaxy", "Coil", "Fern"),
    "grid": ("Windows", "Tiles", "Ledger", "Quilt", "Tenement"),
    "blobs": ("Puddles", "Clouds", "Pebbles", "Cells", "Lava Lamp"),
    "triangles": ("Mountains", "Kites", "Pyramid", "Shards", "Roofs"),
    "waves": ("Current", "Dunes", "Wind", "Hair", "Harbour"),
    "dots": ("Freckles", "Constellation", "Rain Dots", "Halftone", "Seeds"),
}

_TITLE_ADJECTIVES = _words(
    "Quiet Crooked Borrowed Late Small Second Unfinished Patient Stubborn Salt Paper Blue-Hour"
)

_TITLE_PATTERNS = (
    "{adj} {noun}",
    "Study for {noun}",
    "{noun}, Try {n}",
    "The {noun} That Would Not Sit Still",
    "{adj} {noun} No. {n}",
    "Notes Toward {noun}",
    "{noun} (Again)",
    "{noun} for My Mother",
)

_INTENTS = (
    "I wanted the {motif} to feel {quality}, like {simile}.",
    "An attempt to make the {motif} breathe without any drawn outline.",
    "I was trying to hold the {motif} {quality} while the colour did the moving.",
    "I wanted to see if the {motif} alone could carry the memory of {simile}.",
    "The plan was simple: {motif}, two colours, nothing else, and make it feel {quality}.",
    "I set out to draw {simile} using nothing but the {motif}.",
)

_QUALITIES = (
    "calm",
    "restless",
    "weightless",
    "inevitable",
    "hand-made",
    "quietly loud",
    "old",
    "warm",
)

_SIMILES = (
    "rain on a tin roof",
    "my grandmother's embroidery",
    "a city seen from a night bus",
    "the sound of a kettle",
    "a map folded too many times",
    "breathing while asleep",
    "the tiles of a public bath",
    "wind in a wheat field",
    "a radio between stations",
)

_FAILURE_DETAILS: dict[str, tuple[str, ...]] = {
    FailureType.COMPOSITION.value: (
        "The whole {motif} slid into one corner and left a dead half of the sheet.",
        "I placed the centre too low; the {motif} kept falling off the page.",
        "Too much empty space on one side, so the eye never settled.",
    ),
    FailureType.PROPORTION.value: (
        "The {motif} came out stretched, twice as tall as planned.",
        "Everything was the wrong size relative to everything else.",
        "I scaled the {motif} by eye and everything swelled out of proportion.",
    ),
    FailureType.PERSPECTIVE.value: (
        "The {motif} tilted away as if the sheet were falling backwards.",
        "The vanishing point wandered and the {motif} skewed.",
        "I tried a low viewpoint and the {motif} sheared apart.",
    ),
    FailureType.COLOUR.value: (
        "The colours turned muddy and the {motif} lost all contrast.",
        "I mixed the wrong blue and the whole piece went sour.",
        "The palette fought itself; nothing sat where it should.",
    ),
    FailureType.TECHNIQUE.value: (
        "I dragged the brush before it dried and smeared every line.",
        "My hand shook on the long strokes and the {motif} blurred.",
        "Overworked: I went back in too many times and it smudged.",
    ),
    FailureType.MATERIAL.value: (
        "The paper cracked under the wet layers and the {motif} broke up.",
        "Cheap ink flaked off in patches overnight.",
        "The ground was too thin; the surface split along the folds.",
    ),
    FailureType.CONCEPT.value: (
        "Halfway through it stopped being about the {motif} at all.",
        "The idea turned into a different picture I did not want.",
        "I lost what I meant and drew something else on top.",
    ),
    FailureType.ACCIDENT.value: (
        "A full jar of ink tipped over the middle of the sheet.",
        "The cat walked through it. I kept the blot.",
        "Rain came through the window and left a dark bloom.",
    ),
    FailureType.ABANDONED.value: (
        "I stopped halfway and never came back to it.",
        "Life got in the way; the {motif} stayed half drawn.",
        "I could not find the ending, so I left it open.",
    ),
    FailureType.OTHER.value: (
        "Something went off that I still cannot name; it doubled and ghosted.",
        "The scan added a second faint copy and I liked it less than I hoped.",
        "It was technically fine and completely dead.",
    ),
}

_DEFECT_SHORT: dict[str, str] = {
    FailureType.COMPOSITION.value: "everything slid into the corner",
    FailureType.PROPORTION.value: "the proportions stretched",
    FailureType.PERSPECTIVE.value: "the perspective tilted away",
    FailureType.COLOUR.value: "the colours went wrong",
    FailureType.TECHNIQUE.value: "the lines smeared",
    FailureType.MATERIAL.value: "the surface cracked and flaked",
    FailureType.CONCEPT.value: "it turned into a different picture",
    FailureType.ACCIDENT.value: "an ink blot landed on it",
    FailureType.ABANDONED.value: "left unfinished",
    FailureType.OTHER.value: "a ghost copy crept in",
}

_SOCIAL_CONTEXTS = (
    "Made on the kitchen table between home-schooling shifts.",
    "Made between night shifts at a hospital laundry.",
    "Made in a shared studio that closed the month after.",
    "Drawn on a phone during a two-hour commute.",
    "Made while caring for my father after his stroke.",
    "Made for a community print fair that was cancelled.",
    "Made in a weekly workshop at the neighbourhood refugee centre.",
    "Made in my first year of art school, when I still believed in rules.",
    "Made the winter I lost my job and had too much time.",
    "Made in the public library because my flat had no daylight.",
    "Made for a friend's wedding that was called off.",
    "Made during a residency with no internet and too much rain.",
)

_FAILURE_NOTES = (
    "I kept the failed sheet because it taught me {lesson}.",
    "Looking back, the failure was the only honest part: {lesson}.",
    "I almost threw it away. It is here because it showed me {lesson}.",
    "Every later piece starts from this mistake: {lesson}.",
    "I donate the failure more gladly than the final. It taught me {lesson}.",
)

_LESSONS = (
    "to stop before the paper does",
    "that empty space is a decision too",
    "to test the colours on a scrap first",
    "that the first idea is rarely the one",
    "to let the hand be slower than the eye",
    "that accidents can be kept",
    "to trust the sketch more than the plan",
    "that I draw better when I am not trying to impress",
)

_CAPTIONS: dict[str, tuple[str, ...]] = {
    StageRole.SKETCH.value: (
        "First pencil pass, just to find the {motif}.",
        "Loose sketch of the {motif}.",
        "Thumbnail on the back of an envelope.",
        "Light guide lines, nothing committed yet.",
    ),
    StageRole.ATTEMPT.value: (
        "Attempt {k}: blocking in the {motif}.",
        "Attempt {k}: first colour layer.",
        "Attempt {k}: working it up, not sure yet.",
    ),
    StageRole.FAILURE.value: (
        "Failure {k}: {defect}.",
        "This is where it went wrong: {defect}.",
        "Failure {k}. {defect_cap}.",
    ),
    StageRole.REVISION.value: (
        "Revision: fixing what failed, mostly.",
        "Revision: starting over with what I learned.",
        "Revision, almost there.",
    ),
    StageRole.FINAL.value: (
        "Final.",
        "Final version, signed.",
        "Finished, for now.",
    ),
}

_SEASONS = _words(
    "winter winter spring spring spring summer summer summer autumn autumn autumn winter"
)

_CULTURES: tuple[tuple[str, str], ...] = (
    ("andean", "south-america"),
    ("yoruba", "west-africa"),
    ("nordic", "northern-europe"),
    ("punjabi", "south-asia"),
    ("maori", "oceania"),
    ("catalan", "southern-europe"),
    ("hakka", "east-asia"),
    ("amazigh", "north-africa"),
    ("mexican", "central-america"),
    ("persian", "western-asia"),
    ("irish", "northern-europe"),
    ("korean", "east-asia"),
    ("swahili", "east-africa"),
    ("filipino", "south-east-asia"),
    ("polish", "eastern-europe"),
    ("caribbean", "caribbean"),
)

_FAMILY_GENRES: dict[str, tuple[str, ...]] = {
    "rings": ("op-art", "geometric-abstraction"),
    "stripes": ("hard-edge", "textile-pattern"),
    "spiral": ("ornament", "organic-abstraction"),
    "grid": ("minimalism", "tile-design"),
    "blobs": ("biomorphic", "organic-abstraction"),
    "triangles": ("geometric-abstraction", "folk-pattern"),
    "waves": ("textile-pattern", "landscape-abstraction"),
    "dots": ("pointillism", "printmaking"),
}

_MEDIUM_GENRES = ("ink-drawing", "watercolour", "digital-drawing", "gouache", "screen-print")

_FIRST_NAMES = _words(
    "Ana Kwame Ingrid Harpreet Aroha Jordi Mei Youssef Lucía Tomasz Amara Kenji Sofia "
    "Oluwaseun Priya Mateo Leila Nikolai Fatima Rangi Dagny Imani Pablo Noor Ewa "
    "Tariq Hana Siosaia Marta Declan Ji-woo Zainab"
)

_LAST_NAMES = _words(
    "Ruiz Mensah Lindqvist Kaur Ngata Puig Chen Haddad Quispe Nowak Okafor Tanaka "
    "Ferreira Adeyemi Iyer Morales Rahimi Volkov Benali Walker Berg Mwangi Santos "
    "Qureshi Kowalska Aziz Park Fifita Moreno Byrne Reyes Osei"
)

_PSEUDONYM_ADJECTIVES = _words(
    "Quiet Paper Rust Salt Late Crooked Small Borrowed Second Lantern Tidal Hollow "
    "Ember Velvet Northern Wandering"
)

_PSEUDONYM_NOUNS = _words(
    "Heron Moth Kiln Atlas Thimble Comet Loom Sparrow Quarry Orchard Ferry Lichen "
    "Anvil Wren Harbour Fig"
)

_COLOUR_NAMES = _words("red vermilion ochre olive green teal cyan azure blue indigo violet magenta")

# The digits have ten classes and the vocabulary ten emotions: a one-to-one conditioning label.
DIGIT_EMOTIONS: tuple[str, ...] = tuple(member.value for member in Emotion)

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

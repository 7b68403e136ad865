"""The twelve mysfits of the workshop's table, as Lab 0's loader leaves them.

Names and the id prefixes are the workshop's; the descriptions and other details are ours.
Items are in DynamoDB's attribute-value form, ready for BatchWriteItem.
"""

from __future__ import annotations

from typing import Any

# (id, name, species, age, good/evil, law/chaos, description)
_MYSFITS: list[tuple[str, str, str, int, str, str, str]] = [
    (
        "4e53920c-505a-4a90-a694-b9300791f0ae",
        "Evangeline",
        "Chimera",
        43,
        "Evil",
        "Lawful",
        "Keeps a strict timetable for each of her three heads and expects guests to do the same.",
    ),
    (
        "2b473002-36f8-4b87-954e-9a377e0ccbec",
        "Pauly",
        "Cyclops",
        2,
        "Neutral",
        "Lawful",
        "A very young cyclops who studies everything closely, one eye at a time.",
    ),
    (
        "0e37d916-f960-4772-a25a-01b762b5c1bd",
        "CoCo",
        "Gorgon",
        59,
        "Neutral",
        "Chaotic",
        "Turns visitors to stone only when startled, and apologises every single time.",
    ),
    (
        "da5303ae-5aba-495c-b5d6-eb5c4a66b941",
        "Gretta",
        "Gorgon",
        312,
        "Good",
        "Neutral",
        "Wears dark glasses indoors out of courtesy and runs a small reading club.",
    ),
    (
        "a901bb08-1985-42f5-bb77-27439ac14300",
        "Hasla",
        "Troll",
        177,
        "Neutral",
        "Chaotic",
        "Guards a bridge nobody uses and charges a toll of one good joke.",
    ),
    (
        "b41ff031-141e-4a8d-bb56-158a22bea0b3",
        "Snowflake",
        "Yeti",
        13,
        "Evil",
        "Neutral",
        "Small for a yeti, loud for anyone, and fond of snowball ambushes.",
    ),
    (
        "3f0f196c-4a7b-43af-9e29-6522a715342d",
        "Gary",
        "Kraken",
        2709,
        "Neutral",
        "Chaotic",
        "Ancient, enormous and mostly interested in collecting lost spoons.",
    ),
    (
        "a68db521-c031-44c7-b5ef-bfa4c0850e2a",
        "Nessi",
        "Plesiosaur",
        75,
        "Good",
        "Neutral",
        "Avoids cameras with great skill and loves a quiet lake at dawn.",
    ),
    (
        "c0684344-1eb7-40e7-b334-06d25ac9268c",
        "Atlantis",
        "Mermaid",
        340,
        "Good",
        "Chaotic",
        "Collects shipwreck maps and trades them for stories of dry land.",
    ),
    (
        "ac3e95f3-eb40-4e4e-a605-9fdd0224877c",
        "Twilight Glitter",
        "Pegasus",
        6,
        "Good",
        "Lawful",
        "Delivers letters by air and is never, ever late.",
    ),
    (
        "33e1fbd4-2fd8-45fb-a42f-f92551694506",
        "Cole",
        "Phoenix",
        1901,
        "Evil",
        "Chaotic",
        "Burns out every few centuries and comes back with a new hobby.",
    ),
    (
        "b6d16e02-6aeb-413c-b457-321151bb403d",
        "Rujin",
        "Dragon",
        1311,
        "Good",
        "Chaotic",
        "Rules the tides from an undersea palace and hosts generous banquets.",
    ),
]


def mysfit_item(
    mysfit_id: str,
    name: str,
    species: str,
    age: int,
    good_evil: str,
    law_chaos: str,
    description: str,
    images: str = "/images",
) -> dict[str, Any]:
    """One mysfit as an item of the workshop's table (not yet liked nor adopted), its two
    pictures under `images`."""
    slug = name.lower().replace(" ", "_")
    return {
        "MysfitId": {"S": mysfit_id},
        "Name": {"S": name},
        "Species": {"S": species},
        "Description": {"S": description},
        "Age": {"N": str(age)},
        "GoodEvil": {"S": good_evil},
        "LawChaos": {"S": law_chaos},
        "ThumbImageUri": {"S": f"{images}/{slug}_thumb.png"},
        "ProfileImageUri": {"S": f"{images}/{slug}.png"},
        "Likes": {"N": "0"},
        "Adopted": {"BOOL": False},
    }


def mysfit_items() -> list[dict[str, Any]]:
    return [mysfit_item(*mysfit) for mysfit in _MYSFITS]

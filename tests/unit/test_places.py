"""Postcodes and nation names to the nation whose rules apply."""
import pytest

from signposting import places


@pytest.mark.parametrize(
    "text, outward, nation",
    [
        ("CF10 1AA", "CF10", "wales"),
        ("my postcode is g12 8qq", "G12", "scotland"),
        ("BT7 1NN", "BT7", "northern_ireland"),
        ("SW1A 1AA", "SW1A", "england"),
        ("it's LS1", "LS1", "england"),
    ],
)
def test_postcodes_give_the_nation(knowledge, text, outward, nation):
    place = places.find_postcode(text, knowledge)
    assert place.outward == outward and place.nation == nation


def test_unknown_postcode_area_is_not_guessed(knowledge):
    assert places.find_postcode("QQ1 1AA", knowledge) is None


def test_cross_border_areas_are_flagged(knowledge):
    assert places.find_postcode("TD15 1AA", knowledge).cross_border


@pytest.mark.parametrize(
    "text, nation",
    [("I live in Wales", "wales"), ("scotland", "scotland"), ("Northern Ireland", "northern_ireland"),
     ("we're in england", "england"), ("cymru", "wales"), ("the moon", None)],
)
def test_nation_names(text, nation):
    assert places.nation_from_text(text) == nation

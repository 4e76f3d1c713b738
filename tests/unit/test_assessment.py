"""Understanding free answers and ranking the check-in (no Rasa)."""
import pytest

from signposting import assessment


@pytest.mark.parametrize(
    "text, score, exact",
    [
        ("7", 7, True),
        ("about a 6", 6, True),
        ("seven", 7, True),
        ("7/10", 7, True),
        ("i'd say 7 out of 10", 7, True),
        ("6 or 7", 7, True),
        ("10", 10, True),
        ("0", 0, True),
        ("none", 0, True),
        ("not at all", 0, True),
        ("really bad", 8, True),
        ("a bit", 3, True),
        ("not too bad", 3, True),
        ("not bad", 3, True),
        ("terrible", 8, True),
        ("pretty awful tbh", 8, True),
        ("not great", 5, True),
        ("I'd say 7 because money is so tight", 7, False),
    ],
)
def test_scores_people_actually_write(knowledge, text, score, exact):
    answer = assessment.parse_score(text, knowledge.assessment)
    assert answer.score == score
    assert answer.exact is exact
    assert answer.understood


def test_skip_is_understood_and_stored_as_skipped(knowledge):
    answer = assessment.parse_score("skip this one", knowledge.assessment)
    assert answer.skipped and answer.value == assessment.SKIPPED


def test_numbers_outside_the_scale_are_refused(knowledge):
    answer = assessment.parse_score("11", knowledge.assessment)
    assert not answer.understood and answer.out_of_range


def test_distress_is_noticed_even_with_a_score(knowledge):
    answer = assessment.parse_score("9, honestly I can't cope", knowledge.assessment)
    assert answer.score == 9 and answer.distress


@pytest.mark.parametrize("text", ["cant cope", "i'm not coping", "I can't cope"])
def test_distress_is_noticed_with_or_without_an_apostrophe(knowledge, text):
    answer = assessment.parse_score(text, knowledge.assessment)
    assert answer.distress and answer.score == 10


def test_distress_words_alone_count_as_a_high_score(knowledge):
    answer = assessment.parse_score("i'm at breaking point", knowledge.assessment)
    assert answer.distress and answer.score is not None and answer.score >= 8


def test_plain_no_is_zero_only_while_a_question_is_open(knowledge):
    assert assessment.parse_score("no", knowledge.assessment).score == 0
    assert assessment.parse_score("no", knowledge.assessment, accept_no=False).score is None


def test_text_without_a_score_is_not_understood(knowledge):
    assert not assessment.parse_score("what's the weather like", knowledge.assessment).understood


@pytest.mark.parametrize(
    "text, role",
    [
        ("I have cancer", "patient"),
        ("me", "patient"),
        ("I was diagnosed in March", "patient"),
        ("I look after my mum", "carer"),
        ("my husband has bowel cancer", "carer"),
        ("I'm a nurse", "professional"),
        ("I'm a social worker asking for a client", "professional"),
        ("patient", "patient"),
        ("banana", None),
    ],
)
def test_roles_from_free_text(text, role):
    assert assessment.parse_role(text) == role


def test_summary_ranks_by_score_and_keeps_questionnaire_order_on_ties(knowledge):
    scores = {"score_emotional": 5, "score_practical": 8, "score_financial": 5, "score_work": "skipped"}
    summary = assessment.summarise(scores, knowledge.assessment, role="patient", what_matters="my kids")
    assert [c.id for c in summary.ranked] == ["practical", "emotional", "financial"]
    assert [d["id"] for d in summary.skipped] == ["work"]
    assert summary.top.id == "practical"
    assert summary.high and summary.offer_person


def test_threshold_for_offering_a_person_is_seven(knowledge):
    assert knowledge.assessment["high_score"] == 7
    six = assessment.summarise({"score_emotional": 6}, knowledge.assessment)
    seven = assessment.summarise({"score_emotional": 7}, knowledge.assessment)
    assert not six.offer_person and seven.offer_person


def test_a_distress_answer_offers_a_person_even_with_low_scores(knowledge):
    summary = assessment.summarise({"score_emotional": 2}, knowledge.assessment, distress=True)
    assert summary.offer_person


def test_carer_wellbeing_counts_only_for_carers(knowledge):
    scores = {"score_carer_wellbeing": 9}
    assert assessment.summarise(scores, knowledge.assessment, role="carer").top.id == "carer_wellbeing"
    assert assessment.summarise(scores, knowledge.assessment, role="patient").top is None


def test_no_top_concern_when_everything_is_zero(knowledge):
    summary = assessment.summarise({"score_emotional": 0, "score_work": 0}, knowledge.assessment)
    assert summary.top is None and not summary.offer_person


def test_every_domain_has_one_to_three_next_steps(knowledge):
    for domain in knowledge.assessment["domains"]:
        for role in ("patient", "carer"):
            steps = assessment.next_steps(domain, role)
            assert 1 <= len(steps) <= 3, domain["id"]

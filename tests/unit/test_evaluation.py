from signposting import evaluation


def test_macro_f1_and_confusions():
    gold = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", "c"]
    report = evaluation.score(gold, predicted, ["1", "2", "3", "4", "5"])
    f1 = {s.intent: round(s.f1, 3) for s in report.scores}
    assert f1 == {"a": 0.667, "b": 0.8, "c": 1.0}
    assert round(report.macro_f1, 3) == round((0.6667 + 0.8 + 1.0) / 3, 3)
    assert report.confusions == [("a", "b", 1)] and report.errors == [("2", "a", "b")]
    assert report.recall_of("a") == 0.5


def test_reads_rasa_nlu_yaml(tmp_path):
    path = tmp_path / "nlu.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello there\n'
                    '- regex: postcode\n  examples: |\n    - x\n')
    assert evaluation.read_nlu_examples(path) == [("hi", "greet"), ("hello there", "greet")]

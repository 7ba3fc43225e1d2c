from dreamlink.events import Event, EventBus, read_events_tsv, write_events_tsv


def test_events_tsv_round_trip(tmp_path):
    events = [
        Event(12.5, 0.0, "lrlr", "LRLR", 0.93, "detect.eye", {"amplitude_uv": 180.0}),
        Event(3.0, 30.0, "stage", "N2", 0.8, "staging.causal"),
        Event(40.0, 1.2, "message", "SOS", None, "detect.morse"),
    ]
    path = write_events_tsv(events, tmp_path / "e.tsv")
    back = read_events_tsv(path)
    assert [e.trial_type for e in back] == ["stage", "lrlr", "message"]
    assert back[1] == events[0]
    assert back[2].confidence is None and back[2].value == "SOS"


def test_bus_filters_by_kind_and_survives_a_bad_subscriber():
    bus = EventBus()
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.trial_type), kinds=["wake"])
    bus.publish(Event(1.0, trial_type="cue"))
    bus.publish(Event(2.0, trial_type="wake"))
    assert seen == ["wake"]

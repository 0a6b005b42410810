"""Drives the gateway's SensorThings API with FROST's own Python client (PyPI:
frost-sta-client): creates observations one by one and with CreateObservations, and reads
Things, Datastreams and Observations with filters, ordering, expansion and paging through
@iot.nextLink. Any disagreement between that client and the service fails the run.

    python3 frost_client.py http://127.0.0.1:8080/sta/v1.1 --token T --station station-my-tho
"""

import argparse
import datetime
import random
import sys

import frost_sta_client as fsc
from frost_sta_client.model.ext.data_array_document import DataArrayDocument
from frost_sta_client.model.ext.data_array_value import DataArrayValue


def iso(minutes_ago, second):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    return t.replace(second=second, microsecond=0).isoformat()


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--token", required=True)
    parser.add_argument("--station", required=True)
    args = parser.parse_args()
    # FROST's client sends HTTP Basic; the gateway takes the station's token as the password.
    service = fsc.SensorThingsService(args.base, auth_handler=fsc.AuthHandler(username="logger", password=args.token))
    # 1–59 seconds past the minute: the simulated loggers post on whole minutes.
    second = random.randrange(1, 60)

    things = list(service.things().query().filter(f"properties/station_id eq '{args.station}'").expand("Datastreams").list())
    check(len(things) == 1, "the station is found by a filter on its properties")
    thing = things[0]
    datastreams = list(thing.datastreams)
    check(len(datastreams) >= 3, f"its Datastreams come expanded ({len(datastreams)})")
    salinity = next(d for d in datastreams if d.unit_of_measurement.symbol == "g/L")

    # One observation, its id read from the Location header by the client.
    obs = fsc.Observation(result=2.25, phenomenon_time=iso(50, second), datastream=fsc.Datastream(id=salinity.id))
    service.create(obs)
    check(isinstance(obs.id, int), f"one observation created, id {obs.id}")
    back = service.observations().find(obs.id)
    check(back.result == 2.25, "it reads back with its result")

    # CreateObservations.
    dav = DataArrayValue()
    dav.datastream = fsc.Datastream(id=salinity.id)
    dav.components = {DataArrayValue.Property.PHENOMENON_TIME, DataArrayValue.Property.RESULT}
    for i, value in enumerate([2.5, 2.75, 3.0]):
        dav.add_observation(fsc.Observation(result=value, phenomenon_time=iso(55 + i, second)))
    doc = DataArrayDocument()
    doc.add_data_array_value(dav)
    created = service.observations().create(doc)
    links = [o.self_link for o in created]
    check(len(links) == 3 and all("/Observations(" in l for l in links), f"CreateObservations made 3: {links}")

    # Reading: Datastreams with expansion, Observations filtered and ordered, paging.
    expanded = list(service.datastreams().query().expand("Thing,Sensor,ObservedProperty").list())
    check(all(d.thing is not None and d.thing.name for d in expanded), "Datastreams expand their Thing")
    check(all(d.observed_property is not None for d in expanded), "…and their ObservedProperty")
    since = iso(60, 0)
    recent = list(
        salinity.get_observations().query()
        .filter(f"phenomenonTime ge {since} and result ge 2.25 and result le 3")
        .orderby("phenomenonTime", "ASC").list()
    )
    results = [o.result for o in recent]
    check({2.25, 2.5, 2.75, 3.0} <= set(results), f"the created observations are found by a filter: {results}")
    times = [o.phenomenon_time for o in recent]
    check(times == sorted(times), "ordered by phenomenonTime ascending")
    page = service.observations().query().filter(f"Datastream/@iot.id eq {salinity.id}").top(10).count().list()
    total = page.count
    seen = [o.id for o in page]  # iterating follows @iot.nextLink to the end
    check(total > 10 and len(seen) == total and len(set(seen)) == total, f"paged through all {total} observations of the Datastream")
    selected = service.observations().query().select("result", "phenomenonTime").top(3).list().entities
    check(len(selected) == 3 and all(o.result is not None for o in selected), "$select of result and phenomenonTime")
    print("frost-sta-client: all checks passed")


if __name__ == "__main__":
    main()

"""A black-box test suite for an OGC SensorThings API v1.1 service (OGC 18-088).

One test per requirement the service claims, named after the requirement's id in Annex A of
18-088 (http://www.opengis.net/spec/iot_sensing/1.1/req/...): the Sensing Core (datamodel and
resource paths), the Filtering extension (request-data) and, for Observations, creating
entities. It needs nothing but the service's URL, a station's token and that station's id:

    python3 conformance.py http://127.0.0.1:8080/sta/v1.1 --token T --station station-my-tho \
        --foreign-token T2

Observations it creates are timed in the last hour and carry parameters.suite = true.
"""

import argparse
import datetime
import math
import random
import sys
import unittest
import urllib.parse

import requests

ARGS = None
REQ = "http://www.opengis.net/spec/iot_sensing/1.1/req/"

# Mandatory properties and relations per entity type (18-088 §8.2, Tables 4–21).
ENTITIES = {
    "Things": (["name", "description"], ["Locations", "HistoricalLocations", "Datastreams"]),
    "Locations": (["name", "description", "encodingType", "location"], ["Things", "HistoricalLocations"]),
    "HistoricalLocations": (["time"], ["Thing", "Locations"]),
    "Datastreams": (
        ["name", "description", "unitOfMeasurement", "observationType"],
        ["Thing", "Sensor", "ObservedProperty", "Observations"],
    ),
    "Sensors": (["name", "description", "encodingType", "metadata"], ["Datastreams"]),
    "ObservedProperties": (["name", "definition", "description"], ["Datastreams"]),
    "Observations": (["phenomenonTime", "result"], ["Datastream", "FeatureOfInterest"]),
    "FeaturesOfInterest": (["name", "description", "encodingType", "feature"], ["Observations"]),
}


def url(path, **query):
    base = ARGS.base.rstrip("/")
    q = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return f"{base}/{path}" + (f"?{q}" if q else "")


def get(path, status=200, **query):
    r = requests.get(url(path, **query), timeout=30)
    assert r.status_code == status, f"GET {path} {query}: {r.status_code} {r.text[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text


def all_pages(path, **query):
    """Every entity of a collection, following @iot.nextLink."""
    body = get(path, **query)
    out = list(body["value"])
    while "@iot.nextLink" in body:
        r = requests.get(body["@iot.nextLink"], timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body["value"])
    return out


def now_iso(minutes_ago=0, second=None):
    """Now less `minutes_ago`, to the second; at `second` past its minute when given. The
    simulated loggers post on whole minutes, so a time at 1–59 seconds never meets theirs."""
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    if second is not None:
        t = t.replace(second=second)
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def station():
    """The token's station: its Thing with Datastreams."""
    body = get("Things", **{"$filter": f"properties/station_id eq '{ARGS.station}'", "$expand": "Datastreams"})
    assert len(body["value"]) == 1, body
    return body["value"][0]


def post(path, payload, token=None):
    headers = {"Authorization": f"Bearer {token or ARGS.token}"}
    return requests.post(url(path), json=payload, headers=headers, timeout=30)


class Core(unittest.TestCase):
    """A.1 Sensing Core."""

    def test_req_datamodel_entity_control_information_common_control_information(self):
        for name in ENTITIES:
            body = get(name, **{"$top": "2"})
            self.assertTrue(body["value"], f"{name} is empty")
            for e in body["value"]:
                self.assertIsInstance(e["@iot.id"], int)
                self.assertEqual(e["@iot.selfLink"], url(f"{name}({e['@iot.id']})"))
                for rel in ENTITIES[name][1]:
                    self.assertEqual(e[f"{rel}@iot.navigationLink"], f"{e['@iot.selfLink']}/{rel}")

    def _properties(self, name):
        for e in get(name, **{"$top": "5"})["value"]:
            for p in ENTITIES[name][0]:
                self.assertIn(p, e, f"{name}({e['@iot.id']}) has no {p}")

    def _relations(self, name):
        e = get(name, **{"$top": "1"})["value"][0]
        for rel in ENTITIES[name][1]:
            r = requests.get(e[f"{rel}@iot.navigationLink"], timeout=30)
            self.assertEqual(r.status_code, 200, f"{name} → {rel}: {r.text[:200]}")
            body = r.json()
            if rel.endswith("s"):
                self.assertIsInstance(body["value"], list)
            else:
                self.assertIn("@iot.id", body)

    def test_req_datamodel_thing_properties(self):
        self._properties("Things")

    def test_req_datamodel_thing_relations(self):
        self._relations("Things")

    def test_req_datamodel_location_properties(self):
        self._properties("Locations")
        loc = get("Locations", **{"$top": "1"})["value"][0]
        self.assertEqual(loc["encodingType"], "application/geo+json")
        self.assertEqual(loc["location"]["type"], "Point")

    def test_req_datamodel_location_relations(self):
        self._relations("Locations")

    def test_req_datamodel_historical_location_properties(self):
        self._properties("HistoricalLocations")
        t = get("HistoricalLocations", **{"$top": "1"})["value"][0]["time"]
        datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))

    def test_req_datamodel_historical_location_relations(self):
        self._relations("HistoricalLocations")

    def test_req_datamodel_datastream_properties(self):
        self._properties("Datastreams")
        for d in all_pages("Datastreams"):
            self.assertEqual(set(d["unitOfMeasurement"]), {"name", "symbol", "definition"})
            self.assertTrue(d["observationType"].startswith("http://www.opengis.net/def/observationType/"))

    def test_req_datamodel_datastream_relations(self):
        self._relations("Datastreams")

    def test_req_datamodel_sensor_properties(self):
        self._properties("Sensors")

    def test_req_datamodel_sensor_relations(self):
        self._relations("Sensors")

    def test_req_datamodel_observed_property_properties(self):
        self._properties("ObservedProperties")

    def test_req_datamodel_observed_property_relations(self):
        self._relations("ObservedProperties")

    def test_req_datamodel_observation_properties(self):
        self._properties("Observations")
        o = get("Observations", **{"$top": "1"})["value"][0]
        self.assertIsInstance(o["result"], (int, float))

    def test_req_datamodel_observation_relations(self):
        self._relations("Observations")

    def test_req_datamodel_feature_of_interest_properties(self):
        self._properties("FeaturesOfInterest")

    def test_req_datamodel_feature_of_interest_relations(self):
        self._relations("FeaturesOfInterest")

    def test_req_resource_path_resource_path_to_entities(self):
        root = requests.get(ARGS.base.rstrip("/"), timeout=30).json()
        names = {v["name"]: v["url"] for v in root["value"]}
        self.assertEqual(set(names), set(ENTITIES))
        for name, link in names.items():
            self.assertEqual(link, url(name))
        self.assertIn(REQ + "datamodel", root["serverSettings"]["conformance"])
        thing = station()
        tid = thing["@iot.id"]
        ds = thing["Datastreams"][0]["@iot.id"]
        # Entity, navigation to a collection and to an entity, a keyed entity in a collection.
        self.assertEqual(get(f"Things({tid})")["@iot.id"], tid)
        self.assertTrue(all(d["@iot.id"] for d in get(f"Things({tid})/Datastreams")["value"]))
        self.assertEqual(get(f"Datastreams({ds})/Thing")["@iot.id"], tid)
        self.assertEqual(get(f"Things({tid})/Datastreams({ds})")["@iot.id"], ds)
        self.assertEqual(get(f"Datastreams({ds})/Thing/Datastreams")["value"][0]["Thing@iot.navigationLink"],
                         url(f"Datastreams({thing['Datastreams'][0]['@iot.id']})/Thing"))
        # A property, its raw value, and references.
        self.assertEqual(get(f"Things({tid})/name"), {"name": thing["name"]})
        self.assertEqual(get(f"Things({tid})/name/$value"), thing["name"])
        refs = get(f"Things({tid})/Datastreams/$ref")["value"]
        self.assertEqual({r["@iot.selfLink"] for r in refs}, {d["@iot.selfLink"] for d in thing["Datastreams"]})
        self.assertEqual(get(f"Datastreams({ds})/Thing/$ref"), {"@iot.selfLink": url(f"Things({tid})")})
        # What does not exist is 404.
        get("Things(999999999)", status=404)
        get(f"Things({tid})/Datastreams(999999999)", status=404)
        get("Gadgets", status=404)


class Filtering(unittest.TestCase):
    """A.2 Filtering extension (request-data)."""

    def test_req_request_data_order(self):
        # $filter before $orderby, $skip before $top, $count ignores $top/$skip.
        ds = station()["Datastreams"][0]["@iot.id"]
        q = {"$filter": "result ge 0", "$orderby": "phenomenonTime desc", "$skip": "2", "$top": "3", "$count": "true"}
        page = get(f"Datastreams({ds})/Observations", **q)
        full = get(f"Datastreams({ds})/Observations", **{"$filter": "result ge 0", "$orderby": "phenomenonTime desc", "$top": "5"})
        self.assertEqual([o["@iot.id"] for o in page["value"]], [o["@iot.id"] for o in full["value"][2:5]])
        self.assertGreaterEqual(page["@iot.count"], 5)

    def test_req_request_data_expand(self):
        body = get("Things", **{"$expand": "Datastreams/ObservedProperty,Locations", "$top": "1"})
        t = body["value"][0]
        self.assertTrue(t["Locations"] and "@iot.id" in t["Locations"][0])
        d = t["Datastreams"][0]
        self.assertIn("@iot.selfLink", d["ObservedProperty"])
        nested = get("Things", **{"$expand": "Datastreams($top=1;$select=name;$expand=Observations($top=2;$orderby=phenomenonTime desc))", "$top": "1"})
        d = nested["value"][0]["Datastreams"]
        self.assertEqual(len(d), 1)
        self.assertEqual(set(d[0]) - {"Observations", "Observations@iot.navigationLink", "Observations@iot.nextLink"}, {"@iot.id", "@iot.selfLink", "name"})
        obs = d[0]["Observations"]
        self.assertEqual(len(obs), 2)
        self.assertGreaterEqual(obs[0]["phenomenonTime"], obs[1]["phenomenonTime"])
        self.assertIn("Datastreams@iot.nextLink", nested["value"][0])

    def test_req_request_data_select(self):
        body = get("Datastreams", **{"$select": "name,unitOfMeasurement", "$top": "3"})
        for d in body["value"]:
            self.assertEqual(set(d), {"@iot.id", "@iot.selfLink", "name", "unitOfMeasurement"})
        body = get("Things", **{"$select": "id,Datastreams", "$top": "1"})
        self.assertEqual(set(body["value"][0]), {"@iot.id", "@iot.selfLink", "Datastreams@iot.navigationLink"})
        get("Things", status=400, **{"$select": "colour"})

    def test_req_request_data_status_code(self):
        get("Observations(999999999)", status=404)
        get("Datastreams(999999999)/Observations", status=404)

    def test_req_request_data_query_status_code(self):
        body = get("Observations", status=501, **{"$resultFormat": "dataArray"})
        self.assertIn("$resultFormat", body["message"])

    def test_req_request_data_orderby(self):
        things = get("Things", **{"$orderby": "name desc"})["value"]
        names = [t["name"] for t in things]
        self.assertEqual(names, sorted(names, reverse=True))
        ds = station()["Datastreams"][0]["@iot.id"]
        obs = get(f"Datastreams({ds})/Observations", **{"$orderby": "result,phenomenonTime desc", "$top": "50"})["value"]
        keys = [(o["result"], o["phenomenonTime"]) for o in obs]
        self.assertEqual([k[0] for k in keys], sorted(k[0] for k in keys))
        # Null values come before non-null ones in ascending order.
        obs = get("Observations", **{"$orderby": "resultTime asc", "$top": "200"})["value"]
        seen_value = False
        for o in obs:
            if "resultTime" in o:
                seen_value = True
            else:
                self.assertFalse(seen_value, "a null resultTime after a value")

    def test_req_request_data_top(self):
        self.assertEqual(len(get("Observations", **{"$top": "3"})["value"]), 3)
        self.assertEqual(get("Observations", **{"$top": "0"})["value"], [])
        get("Observations", status=400, **{"$top": "-1"})

    def test_req_request_data_skip(self):
        all_ids = [o["@iot.id"] for o in get("Observations", **{"$top": "10"})["value"]]
        skipped = [o["@iot.id"] for o in get("Observations", **{"$top": "5", "$skip": "3"})["value"]]
        self.assertEqual(skipped, all_ids[3:8])

    def test_req_request_data_count(self):
        ds = station()["Datastreams"][0]["@iot.id"]
        everything = all_pages(f"Datastreams({ds})/Observations", **{"$top": "1000"})
        counted = get(f"Datastreams({ds})/Observations", **{"$count": "true", "$top": "1", "$skip": "1"})
        self.assertEqual(counted["@iot.count"], len(everything))
        self.assertNotIn("@iot.count", get("Things", **{"$count": "false"}))
        get("Things", status=400, **{"$count": "maybe"})

    def test_req_request_data_filter(self):
        thing = station()
        ds = thing["Datastreams"][0]["@iot.id"]
        obs = get("Observations", **{"$filter": f"Datastream/@iot.id eq {ds}", "$top": "100"})["value"]
        self.assertTrue(obs)
        for o in obs:
            self.assertEqual(get(f"Observations({o['@iot.id']})/Datastream")["@iot.id"], ds)
        since = now_iso(minutes_ago=120)
        recent = get(f"Datastreams({ds})/Observations", **{"$filter": f"phenomenonTime ge {since}", "$top": "1000"})["value"]
        self.assertTrue(all(o["phenomenonTime"] >= since for o in recent))
        named = get("Things", **{"$filter": f"name eq '{thing['name']}'"})["value"]
        self.assertEqual([t["@iot.id"] for t in named], [thing["@iot.id"]])

    def test_req_request_data_built_in_filter_operations(self):
        ds = station()["Datastreams"][0]["@iot.id"]
        base = f"Datastreams({ds})/Observations"
        values = [o["result"] for o in all_pages(base, **{"$top": "1000"})]
        pivot = sorted(values)[len(values) // 2]
        for op, test in [("eq", lambda v: v == pivot), ("ne", lambda v: v != pivot), ("gt", lambda v: v > pivot),
                         ("ge", lambda v: v >= pivot), ("lt", lambda v: v < pivot), ("le", lambda v: v <= pivot)]:
            got = get(base, **{"$filter": f"result {op} {pivot}", "$count": "true", "$top": "1"})["@iot.count"]
            self.assertEqual(got, sum(1 for v in values if test(v)), op)
        both = get(base, **{"$filter": f"result gt {pivot} and result lt {pivot} add 1", "$count": "true", "$top": "1"})["@iot.count"]
        self.assertEqual(both, sum(1 for v in values if pivot < v < pivot + 1))
        either = get(base, **{"$filter": f"not (result le {pivot}) or result eq {pivot}", "$count": "true", "$top": "1"})["@iot.count"]
        self.assertEqual(either, sum(1 for v in values if v >= pivot))
        arith = get(base, **{"$filter": f"result mul 2 sub 1 gt {2 * pivot - 1}", "$count": "true", "$top": "1"})["@iot.count"]
        self.assertEqual(arith, sum(1 for v in values if v > pivot))
        grouped = get(base, **{"$filter": f"(result ge {pivot}) and (result le {pivot})", "$count": "true", "$top": "1"})["@iot.count"]
        self.assertEqual(grouped, sum(1 for v in values if v == pivot))

    def test_req_request_data_built_in_query_functions(self):
        # OData's round takes a midpoint away from zero (URL Conventions, the round function); Python's round() takes it to even.
        def half_away(v):
            return int(math.copysign(math.floor(abs(v) + 0.5), v))
        thing = station()
        word = thing["name"].split()[-1]
        def ids(**q):
            return {t["@iot.id"] for t in get("Things", **q)["value"]}
        self.assertIn(thing["@iot.id"], ids(**{"$filter": f"substringof('{word}', name)"}))
        self.assertIn(thing["@iot.id"], ids(**{"$filter": f"startswith(name, '{thing['name'][:4]}')"}))
        self.assertIn(thing["@iot.id"], ids(**{"$filter": f"endswith(name, '{thing['name'][-3:]}')"}))
        self.assertIn(thing["@iot.id"], ids(**{"$filter": f"length(name) eq {len(thing['name'])}"}))
        self.assertIn(thing["@iot.id"], ids(**{"$filter": f"tolower(description) eq '{thing['description'].lower()}'"}))
        ds = thing["Datastreams"][0]["@iot.id"]
        o = get(f"Datastreams({ds})/Observations", **{"$top": "1", "$orderby": "phenomenonTime desc"})["value"][0]
        t = datetime.datetime.fromisoformat(o["phenomenonTime"].replace("Z", "+00:00"))
        q = f"year(phenomenonTime) eq {t.year} and month(phenomenonTime) eq {t.month} and day(phenomenonTime) eq {t.day} and hour(phenomenonTime) eq {t.hour} and minute(phenomenonTime) eq {t.minute}"
        found = get(f"Datastreams({ds})/Observations", **{"$filter": q, "$top": "100"})["value"]
        self.assertIn(o["@iot.id"], [x["@iot.id"] for x in found])
        self.assertIn(o["@iot.id"], [x["@iot.id"] for x in get(f"Datastreams({ds})/Observations", **{"$filter": f"round(result) eq {half_away(o['result'])} and floor(result) le result and ceiling(result) ge result", "$top": "1000"})["value"]])
        # Spatial: every Location is within 0.001 degrees of itself, and inside a box around it.
        loc = get("Locations", **{"$top": "1"})["value"][0]
        x, y = loc["location"]["coordinates"]
        near = get("Locations", **{"$filter": f"geo.distance(location, geography'POINT({x} {y})') lt 0.001"})["value"]
        self.assertIn(loc["@iot.id"], [l["@iot.id"] for l in near])
        box = f"POLYGON(({x-0.01} {y-0.01}, {x+0.01} {y-0.01}, {x+0.01} {y+0.01}, {x-0.01} {y+0.01}, {x-0.01} {y-0.01}))"
        inside = get("Locations", **{"$filter": f"st_within(location, geography'{box}')"})["value"]
        self.assertIn(loc["@iot.id"], [l["@iot.id"] for l in inside])
        far = get("Locations", **{"$filter": f"geo.distance(location, geography'POINT({x + 5} {y})') lt 1"})["value"]
        self.assertNotIn(loc["@iot.id"], [l["@iot.id"] for l in far])

    def test_req_request_data_pagination(self):
        ds = station()["Datastreams"][0]["@iot.id"]
        path = f"Datastreams({ds})/Observations"
        first = get(path, **{"$top": "7", "$count": "true", "$orderby": "phenomenonTime desc"})
        count = first["@iot.count"]
        seen = [o["@iot.id"] for o in first["value"]]
        body = first
        while "@iot.nextLink" in body:
            r = requests.get(body["@iot.nextLink"], timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            body = r.json()
            self.assertEqual(body["@iot.count"], count, "the count does not drift")
            seen.extend(o["@iot.id"] for o in body["value"])
        self.assertEqual(len(seen), count)
        self.assertEqual(len(set(seen)), count, "no entity twice")


class Create(unittest.TestCase):
    """A.3 Create (for Observations: the stations themselves come from the city pack)."""

    def test_req_create_update_delete_create_entity(self):
        thing = station()
        ds = next(d for d in thing["Datastreams"] if d["unitOfMeasurement"]["symbol"] == "g/L")["@iot.id"]
        when = now_iso(minutes_ago=30, second=ARGS.salt)
        r = post("Observations", {"phenomenonTime": when, "result": 1.25, "Datastream": {"@iot.id": ds}, "parameters": {"suite": True}})
        self.assertEqual(r.status_code, 201, r.text)
        link = r.headers["Location"]
        self.assertRegex(link, r"/Observations\(\d+\)$")
        created = requests.get(link, timeout=30).json()
        self.assertEqual(created["result"], 1.25)
        self.assertEqual(created["phenomenonTime"], when)
        self.assertNotIn("resultTime", created, "an absent resultTime stays null")
        # Its FeatureOfInterest was taken from the station.
        foi = requests.get(created["FeatureOfInterest@iot.navigationLink"], timeout=30)
        self.assertEqual(foi.status_code, 200)
        # Into a Datastream's collection, linked by the path.
        when2 = now_iso(minutes_ago=31, second=ARGS.salt)
        r = post(f"Datastreams({ds})/Observations", {"phenomenonTime": when2, "resultTime": when2, "result": 1.5})
        self.assertEqual(r.status_code, 201, r.text)
        self.assertEqual(get(r.headers["Location"].split("/sta/v1.1/")[1] + "/Datastream")["@iot.id"], ds)
        # Another station's token, or none, creates nothing.
        r = post("Observations", {"phenomenonTime": now_iso(32), "result": 1, "Datastream": {"@iot.id": ds}}, token=ARGS.foreign_token)
        self.assertEqual(r.status_code, 403, r.text)
        r = requests.post(url("Observations"), json={"phenomenonTime": now_iso(33), "result": 1, "Datastream": {"@iot.id": ds}}, timeout=30)
        self.assertEqual(r.status_code, 401, r.text)
        # Data array: two Datastreams, components in an unusual order, one bad row.
        ds2 = next(d for d in thing["Datastreams"] if d["@iot.id"] != ds)["@iot.id"]
        rows = [[1.1, now_iso(40, ARGS.salt)], [1.2, now_iso(41, ARGS.salt)], ["high", now_iso(42, ARGS.salt)]]
        r = post("CreateObservations", [
            {"Datastream": {"@iot.id": ds}, "components": ["result", "phenomenonTime"], "dataArray": rows},
            {"Datastream": {"@iot.id": ds2}, "components": ["phenomenonTime", "result"], "dataArray": [[now_iso(40, ARGS.salt), 7.2]]},
        ])
        self.assertEqual(r.status_code, 201, r.text)
        links = r.json()
        self.assertEqual(len(links), 4)
        self.assertTrue(links[2].startswith("error"), links)
        self.assertIn("result", links[2])
        made = requests.get(links[1], timeout=30).json()
        self.assertEqual((made["result"], made["phenomenonTime"]), (1.2, rows[1][1]))
        self.assertEqual(requests.get(links[3], timeout=30).json()["result"], 7.2)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the service root, e.g. http://127.0.0.1:8080/sta/v1.1")
    parser.add_argument("--token", required=True, help="a token of --station")
    parser.add_argument("--station", required=True, help="the station's id (Thing properties/station_id)")
    parser.add_argument("--foreign-token", required=True, help="a token of another station")
    parser.add_argument("--salt", type=int, default=random.randrange(1, 60), help="the second (1–59) past the minute of created times, so runs against one gateway differ and never meet the loggers' whole minutes")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()

//! The SensorThings data model (OGC 18-088 §8.2) over the gateway's tables: each entity set,
//! its properties with the SQL that reads them, and its navigation properties with the join
//! that follows them. Queries, filters and answers are all built from this one description.

/// An entity set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Set {
    Things,
    Locations,
    HistoricalLocations,
    Datastreams,
    Sensors,
    ObservedProperties,
    Observations,
    FeaturesOfInterest,
}

/// How a property is stored and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TEXT column.
    Text,
    /// An instant: BIGINT ms since epoch, served as ISO 8601.
    Time,
    /// A JSON object stored as text (`properties`, `parameters`); its members are filterable
    /// by path (`properties/owner`).
    Json,
    /// A GeoJSON point from a longitude and a latitude column (`{t}.longitude`, `{t}.latitude`).
    Point,
    /// Datastream's `unitOfMeasurement`: name, symbol, definition columns.
    Unit,
    /// Observation's `result`: served from `result_json`, compared on `result`.
    Result,
    /// Datastream's `phenomenonTime`: the interval of its observations, from the latest table.
    Interval,
}

/// A property: its name in the API and the column (on the entity's alias) it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

/// A navigation property: `target.target_column = source.source_column`.
#[derive(Debug, Clone, Copy)]
pub struct Navigation {
    pub name: &'static str,
    pub target: Set,
    /// A collection (`Datastreams`) or one entity (`Thing`).
    pub many: bool,
    pub target_column: &'static str,
    pub source_column: &'static str,
}

const fn p(name: &'static str, column: &'static str, kind: Kind) -> Property {
    Property { name, column, kind }
}

const fn many(name: &'static str, target: Set, target_column: &'static str) -> Navigation {
    Navigation {
        name,
        target,
        many: true,
        target_column,
        source_column: "id",
    }
}

const fn one(name: &'static str, target: Set, source_column: &'static str) -> Navigation {
    Navigation {
        name,
        target,
        many: false,
        target_column: "id",
        source_column,
    }
}

const NAME: Property = p("name", "name", Kind::Text);
const DESCRIPTION: Property = p("description", "description", Kind::Text);
const PROPERTIES: Property = p("properties", "properties", Kind::Json);
const ENCODING: Property = p("encodingType", "encoding_type", Kind::Text);

impl Set {
    pub const ALL: [Set; 8] = [
        Set::Things,
        Set::Locations,
        Set::HistoricalLocations,
        Set::Datastreams,
        Set::Sensors,
        Set::ObservedProperties,
        Set::Observations,
        Set::FeaturesOfInterest,
    ];

    /// The set's name in URLs (`Things`).
    pub fn name(self) -> &'static str {
        match self {
            Set::Things => "Things",
            Set::Locations => "Locations",
            Set::HistoricalLocations => "HistoricalLocations",
            Set::Datastreams => "Datastreams",
            Set::Sensors => "Sensors",
            Set::ObservedProperties => "ObservedProperties",
            Set::Observations => "Observations",
            Set::FeaturesOfInterest => "FeaturesOfInterest",
        }
    }

    pub fn by_name(name: &str) -> Option<Set> {
        Set::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn table(self) -> &'static str {
        match self {
            Set::Things => "sta_things",
            Set::Locations => "sta_locations",
            Set::HistoricalLocations => "sta_historical_locations",
            Set::Datastreams => "sta_datastreams",
            Set::Sensors => "sta_sensors",
            Set::ObservedProperties => "sta_observed_properties",
            Set::Observations => "observations",
            Set::FeaturesOfInterest => "sta_features",
        }
    }

    /// The properties, in the order they are served.
    pub fn properties(self) -> &'static [Property] {
        const THINGS: &[Property] = &[NAME, DESCRIPTION, PROPERTIES];
        const LOCATIONS: &[Property] = &[
            NAME,
            DESCRIPTION,
            ENCODING,
            p("location", "", Kind::Point),
            PROPERTIES,
        ];
        const HISTORICALLOCATIONS: &[Property] = &[p("time", "time_ms", Kind::Time)];
        const DATASTREAMS: &[Property] = &[
            NAME,
            DESCRIPTION,
            p("unitOfMeasurement", "", Kind::Unit),
            p("observationType", "observation_type", Kind::Text),
            p("phenomenonTime", "", Kind::Interval),
            PROPERTIES,
        ];
        const SENSORS: &[Property] = &[
            NAME,
            DESCRIPTION,
            ENCODING,
            p("metadata", "metadata", Kind::Text),
            PROPERTIES,
        ];
        const OBSERVEDPROPERTIES: &[Property] = &[
            NAME,
            p("definition", "definition", Kind::Text),
            DESCRIPTION,
            PROPERTIES,
        ];
        const OBSERVATIONS: &[Property] = &[
            p("phenomenonTime", "phenomenon_time_ms", Kind::Time),
            p("resultTime", "result_time_ms", Kind::Time),
            p("result", "result", Kind::Result),
            p("parameters", "parameters", Kind::Json),
        ];
        const FEATURESOFINTEREST: &[Property] = &[
            NAME,
            DESCRIPTION,
            ENCODING,
            p("feature", "", Kind::Point),
            PROPERTIES,
        ];
        match self {
            Set::Things => THINGS,
            Set::Locations => LOCATIONS,
            Set::HistoricalLocations => HISTORICALLOCATIONS,
            Set::Datastreams => DATASTREAMS,
            Set::Sensors => SENSORS,
            Set::ObservedProperties => OBSERVEDPROPERTIES,
            Set::Observations => OBSERVATIONS,
            Set::FeaturesOfInterest => FEATURESOFINTEREST,
        }
    }

    pub fn property(self, name: &str) -> Option<&'static Property> {
        self.properties().iter().find(|p| p.name == name)
    }

    pub fn navigations(self) -> &'static [Navigation] {
        const THINGS: &[Navigation] = &[
            many("Locations", Set::Locations, "thing_id"),
            many("HistoricalLocations", Set::HistoricalLocations, "thing_id"),
            many("Datastreams", Set::Datastreams, "thing_id"),
        ];
        const LOCATIONS: &[Navigation] = &[
            Navigation {
                name: "Things",
                target: Set::Things,
                many: true,
                target_column: "id",
                source_column: "thing_id",
            },
            many(
                "HistoricalLocations",
                Set::HistoricalLocations,
                "location_id",
            ),
        ];
        const HISTORICALLOCATIONS: &[Navigation] = &[
            one("Thing", Set::Things, "thing_id"),
            Navigation {
                name: "Locations",
                target: Set::Locations,
                many: true,
                target_column: "id",
                source_column: "location_id",
            },
        ];
        const DATASTREAMS: &[Navigation] = &[
            one("Thing", Set::Things, "thing_id"),
            one("Sensor", Set::Sensors, "sensor_id"),
            one(
                "ObservedProperty",
                Set::ObservedProperties,
                "observed_property_id",
            ),
            many("Observations", Set::Observations, "datastream_id"),
        ];
        const SENSORS: &[Navigation] = &[many("Datastreams", Set::Datastreams, "sensor_id")];
        const OBSERVEDPROPERTIES: &[Navigation] = &[many(
            "Datastreams",
            Set::Datastreams,
            "observed_property_id",
        )];
        const OBSERVATIONS: &[Navigation] = &[
            one("Datastream", Set::Datastreams, "datastream_id"),
            one("FeatureOfInterest", Set::FeaturesOfInterest, "feature_id"),
        ];
        const FEATURESOFINTEREST: &[Navigation] =
            &[many("Observations", Set::Observations, "feature_id")];
        match self {
            Set::Things => THINGS,
            Set::Locations => LOCATIONS,
            Set::HistoricalLocations => HISTORICALLOCATIONS,
            Set::Datastreams => DATASTREAMS,
            Set::Sensors => SENSORS,
            Set::ObservedProperties => OBSERVEDPROPERTIES,
            Set::Observations => OBSERVATIONS,
            Set::FeaturesOfInterest => FEATURESOFINTEREST,
        }
    }

    pub fn navigation(self, name: &str) -> Option<&'static Navigation> {
        self.navigations().iter().find(|n| n.name == name)
    }

    /// The SQL of every column a row of this set is served from, on alias `t`, in the order
    /// [`super::read`] decodes them: id first, then each property's columns.
    pub fn select_list(self, t: &str) -> Vec<String> {
        let mut out = vec![format!("{t}.id")];
        for prop in self.properties() {
            match prop.kind {
                Kind::Point => {
                    out.push(format!("{t}.longitude"));
                    out.push(format!("{t}.latitude"));
                }
                Kind::Unit => {
                    out.push(format!("{t}.unit_name"));
                    out.push(format!("{t}.unit_symbol"));
                    out.push(format!("{t}.unit_definition"));
                }
                Kind::Interval => {
                    out.push(format!(
                        "(SELECT l.first_time_ms FROM latest_observations l WHERE l.datastream_id = {t}.id)"
                    ));
                    out.push(format!(
                        "(SELECT l.phenomenon_time_ms FROM latest_observations l WHERE l.datastream_id = {t}.id)"
                    ));
                }
                Kind::Result => out.push(format!("{t}.result_json")),
                _ => out.push(format!("{t}.{}", prop.column)),
            }
        }
        out
    }
}

/// The columns behind properties that may be NULL (every other one is `NOT NULL`).
pub const NULLABLE: &[&str] = &["result_time_ms", "parameters"];

/// The conformance classes this service claims (OGC 18-088 Annex A), as listed in the service
/// root's `serverSettings`.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
];

//! The load run as a test: Boston's 121 145 requests of 2015 replayed as reports through two
//! gateway instances on PostgreSQL behind nginx, with devices syncing at the same time;
//! nothing lost, nothing doubled (see `citizen_e2e::load`). Bounded: it fails if it takes
//! longer than its time limit. Loopback only.

use std::time::Duration;

use anyhow::Result;
use citizen_e2e::{GatewayProcess, free_port, load, root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_boston_311_through_two_instances_loses_and_doubles_nothing() -> Result<()> {
    let reports = load::boston_reports(None)?;
    assert_eq!(reports.len(), load::BOSTON_REQUESTS);
    let cluster = citizen_testdb::Cluster::start(citizen_testdb::Durability::Throwaway)?;
    let database = cluster.create_database("load")?;
    let gateway = GatewayProcess::start_on(
        "debug",
        &database,
        free_port()?,
        2,
        &root().join("assets/cities/my-tho"),
    )?;
    let figures = load::run(&gateway.url(), reports, 16, 4, Duration::from_secs(20 * 60)).await?;
    eprintln!("load run (2 instances on PostgreSQL, 4 devices): {figures}");
    Ok(())
}

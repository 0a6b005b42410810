# Citizen app interface — English.

app-title = Citizen
home-welcome = Hello! What do you need today?
home-explore = Explore
home-explore-sub = { $count } sights, stays, food, markets, temples, tours and ferries
home-wifi = Free wifi
home-wifi-sub = { $count } public wifi hotspots
home-salinity = Tien River salinity
home-salinity-sub = { $count } monitoring stations
home-services = Public services
home-services-sub = { $count } online procedures
back = ‹ Home
lang-switch = Tiếng Việt
lang-switch-label = Switch to Vietnamese

explore-title = Explore
kind-attraction = Sights
kind-lodging = Stay
kind-food = Food
kind-market = Markets
kind-temple = Temples & churches
kind-tour = Tours
kind-ferry = Ferries
explore-empty = No places of this kind yet.

wifi-title = Free wifi
wifi-from-center = Distances from the centre of { $city }.
wifi-rules = Up to { $minutes } minutes per session; reconnect to continue.
wifi-distance-m = { $meters } m
wifi-distance-km = { $km } km
site-tourist_site = Tourist site
site-stop = Rest stop
site-school = School
site-public_space = Public space

salinity-title = Tien River salinity
salinity-km = { $km } km from the river mouth
salinity-simulated = Simulated values (no open data source yet)
salinity-no-reading = No reading yet
salinity-stale = Old reading — the river may have changed since
age-just-now = just now
age-minutes = { $minutes } min ago
age-hours = { $hours } h ago
age-days = { $days } days ago

services-title = Online public services
services-fee-free = Free
services-fee = Fee: { $fee } VND
services-days = Handled within { $days } working days
services-days-same = Same-day result
online-full = Fully online
online-partial = Partly online

sync-never = Showing built-in data, not synced yet
sync-syncing = Syncing…
sync-synced = Synced at { $time }
sync-offline = Offline since { $time } — showing saved data

loading = Loading…
error-invalid-input = Invalid input.
error-not-found = Not found.
error-offline = Cannot reach the server.
error-storage = Storage error on this device.
error-internal = Something went wrong.
error-unauthorized = Missing or wrong access token.
error-conflict = This conflicts with what is stored.
error-too-large = Too large.

report-status-received = Received
report-status-assigned = Assigned
report-status-in_progress = In progress
report-status-resolved = Resolved
report-status-rejected = Rejected

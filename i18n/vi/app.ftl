# Giao diện ứng dụng công dân — tiếng Việt (ngôn ngữ mặc định).

app-title = Công dân số
home-welcome = Xin chào! Bạn cần gì hôm nay?
home-explore = Khám phá
home-explore-sub = { $count } điểm tham quan, lưu trú, ăn uống, chợ, chùa, tour, bến phà
home-wifi = Wifi miễn phí
home-wifi-sub = { $count } điểm phát wifi công cộng
home-salinity = Độ mặn sông Tiền
home-salinity-sub = { $count } trạm quan trắc
home-services = Dịch vụ công
home-services-sub = { $count } thủ tục trực tuyến
back = ‹ Trang chủ
lang-switch = English
lang-switch-label = Chuyển sang tiếng Anh

explore-title = Khám phá
kind-attraction = Tham quan
kind-lodging = Lưu trú
kind-food = Ăn uống
kind-market = Chợ
kind-temple = Chùa, nhà thờ
kind-tour = Tour
kind-ferry = Bến phà
explore-empty = Chưa có địa điểm nào thuộc loại này.

wifi-title = Wifi miễn phí
wifi-from-center = Khoảng cách tính từ trung tâm { $city }.
wifi-rules = Mỗi lần truy cập tối đa { $minutes } phút; kết nối lại để tiếp tục.
wifi-distance-m = { $meters } m
wifi-distance-km = { $km } km
site-tourist_site = Điểm du lịch
site-stop = Điểm dừng chân
site-school = Trường học
site-public_space = Nơi công cộng

salinity-title = Độ mặn sông Tiền
salinity-km = Cách cửa sông { $km } km
salinity-simulated = Số liệu mô phỏng (chưa có nguồn dữ liệu mở)
salinity-no-reading = Chưa có số đo
salinity-stale = Số đo đã cũ — có thể không còn đúng với hiện tại
age-just-now = vừa xong
age-minutes = { $minutes } phút trước
age-hours = { $hours } giờ trước
age-days = { $days } ngày trước

services-title = Dịch vụ công trực tuyến
services-fee-free = Miễn phí
services-fee = Lệ phí: { $fee } đồng
services-days = Giải quyết trong { $days } ngày làm việc
services-days-same = Trả kết quả trong ngày
online-full = Toàn trình
online-partial = Một phần

sync-never = Đang dùng dữ liệu có sẵn, chưa đồng bộ
sync-syncing = Đang đồng bộ…
sync-synced = Đã đồng bộ lúc { $time }
sync-offline = Ngoại tuyến từ { $time } — đang hiển thị dữ liệu đã lưu

loading = Đang tải…
error-invalid-input = Dữ liệu không hợp lệ.
error-not-found = Không tìm thấy.
error-offline = Không kết nối được máy chủ.
error-storage = Lỗi bộ nhớ trên máy.
error-internal = Đã có lỗi xảy ra.
error-unauthorized = Chưa đăng nhập hoặc mã truy cập sai.
error-conflict = Dữ liệu mâu thuẫn với bản đã lưu.
error-too-large = Dữ liệu quá lớn.

report-status-received = Đã tiếp nhận
report-status-assigned = Đã chuyển cơ quan xử lý
report-status-in_progress = Đang xử lý
report-status-resolved = Đã xử lý xong
report-status-rejected = Không xử lý

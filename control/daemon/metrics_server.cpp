#include "daemon/metrics_server.h"

#include <httplib.h>

namespace sipwall::control {

MetricsServer::MetricsServer() : text_(std::make_shared<const std::string>()) {}

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::start(const std::string& host, int port, std::string& error) {
  server_ = std::make_unique<httplib::Server>();
  // Prometheus scrapes once every few seconds: two threads are plenty.
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::shared_ptr<const std::string> t;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      t = text_;
    }
    res.set_content(*t, "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("sipwall-control: metrics at /metrics\n", "text/plain; charset=utf-8");
  });
  if (!server_->bind_to_port(host, port)) {
    error = "cannot listen on " + host + ":" + std::to_string(port) + " for /metrics (address in use?)";
    server_.reset();
    return false;
  }
  port_ = port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void MetricsServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void MetricsServer::publish(std::string text) {
  auto t = std::make_shared<const std::string>(std::move(text));
  std::lock_guard<std::mutex> lock(mutex_);
  text_ = std::move(t);
}

}  // namespace sipwall::control

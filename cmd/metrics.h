// The Prometheus metrics that crossdock serve and crossdock run (with --listen) expose
// at /metrics, kept with prometheus-cpp. Used by cmd/webhooks.cc and cmd/execute.cc's
// callers.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "state/executions.h"

namespace crossdock::cmd {

// Thread-safe (prometheus-cpp's metrics are atomic).
class Metrics {
 public:
  Metrics();

  // Counts a finished execution: executions by trigger and status, its tasks by
  // operation and status, its bytes, and for a succeeded one the time of success of
  // each of its rules.
  void ExecutionFinished(const state::Execution& e);
  // One webhook request of SOURCE ("distribution" or "harbor") answered with CODE, and
  // how many of its events were accepted and ignored.
  void WebhookRequest(const std::string& source, int code, int accepted, int ignored);
  // Accepted events not executed yet.
  void SetQueueDepth(std::int64_t depth);

  // The text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& executions_;
  prometheus::Family<prometheus::Counter>& tasks_;
  prometheus::Counter& bytes_;
  prometheus::Family<prometheus::Counter>& webhook_requests_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Gauge& queue_depth_;
  prometheus::Family<prometheus::Gauge>& last_success_;
};

}  // namespace crossdock::cmd

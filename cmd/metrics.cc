#include "cmd/metrics.h"

#include <prometheus/text_serializer.h>

#include <chrono>

namespace crossdock::cmd {

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      executions_(prometheus::BuildCounter()
                      .Name("crossdock_executions_total")
                      .Help("Executions finished, by trigger (manual, scheduled, event) and status")
                      .Register(*registry_)),
      tasks_(prometheus::BuildCounter()
                 .Name("crossdock_tasks_total")
                 .Help("Tasks finished, by operation (copy, delete) and status")
                 .Register(*registry_)),
      bytes_(prometheus::BuildCounter()
                 .Name("crossdock_copied_bytes_total")
                 .Help("Blob bytes copied to destinations")
                 .Register(*registry_)
                 .Add({})),
      webhook_requests_(prometheus::BuildCounter()
                            .Name("crossdock_webhook_requests_total")
                            .Help("Webhook requests, by source (distribution, harbor) and HTTP code")
                            .Register(*registry_)),
      events_(prometheus::BuildCounter()
                  .Name("crossdock_webhook_events_total")
                  .Help("Registry events received, by outcome (accepted, ignored)")
                  .Register(*registry_)),
      queue_depth_(prometheus::BuildGauge()
                       .Name("crossdock_event_queue_depth")
                       .Help("Accepted events waiting in the journal to be executed")
                       .Register(*registry_)
                       .Add({})),
      last_success_(prometheus::BuildGauge()
                        .Name("crossdock_rule_last_success_timestamp_seconds")
                        .Help("Unix time at which an execution of the rule last succeeded")
                        .Register(*registry_)) {}

void Metrics::ExecutionFinished(const state::Execution& e) {
  executions_.Add({{"trigger", state::Name(e.trigger)}, {"status", state::Name(e.status)}})
      .Increment();
  for (const auto& t : e.tasks)
    tasks_.Add({{"operation", state::Name(t.operation)}, {"status", state::Name(t.status)}})
        .Increment();
  bytes_.Increment(static_cast<double>(e.bytes));
  if (e.status != state::ExecutionStatus::kSucceeded) return;
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  for (const auto& r : e.rules) last_success_.Add({{"rule", r}}).Set(now);
}

void Metrics::WebhookRequest(const std::string& source, int code, int accepted, int ignored) {
  webhook_requests_.Add({{"source", source}, {"code", std::to_string(code)}}).Increment();
  if (accepted > 0) events_.Add({{"outcome", "accepted"}}).Increment(accepted);
  if (ignored > 0) events_.Add({{"outcome", "ignored"}}).Increment(ignored);
}

void Metrics::SetQueueDepth(std::int64_t depth) { queue_depth_.Set(static_cast<double>(depth)); }

std::string Metrics::Render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace crossdock::cmd

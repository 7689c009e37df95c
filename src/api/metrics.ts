import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The service's Prometheus metrics, in a registry of its own (one per running service). */
export class Metrics {
  readonly registry = new Registry();
  readonly ingested = new Counter({
    name: "qualify_ingest_events_total",
    help: "Events stored by ingest, by endpoint",
    labelNames: ["endpoint"],
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: "qualify_ingest_duplicates_total",
    help: "Events answered 200 but not stored again: their messageId was already stored",
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "qualify_ingest_rejections_total",
    help: "Events or requests rejected by ingest, by reason",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly processed = new Counter({
    name: "qualify_pipeline_events_total",
    help: "Events run through the engine by the pipeline",
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: "qualify_pipeline_transitions_total",
    help: "Stage transitions recorded by the pipeline",
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: "qualify_pipeline_lag_seconds",
    help: "Seconds from receiving the oldest event of the latest batch to processing it",
    registers: [this.registry],
  });
  readonly pending = new Gauge({
    name: "qualify_pipeline_pending_events",
    help: "Events stored and not yet processed",
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "qualify_http_request_duration_seconds",
    help: "HTTP request latency, by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "qualify_" });
  }
}

// Prometheus metrics for /metrics: one registry per running stage (so tests can run several).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/** Sampling interval of the event-loop delay monitor (ms). */
const LOOP_RESOLUTION_MS = 10;

export function createMetrics() {
  const registry = new Registry();
  /** Per surface: the largest number of bytes any one WebSocket client has waiting. */
  const backlogSources = new Map<string, () => number>();
  collectDefaultMetrics({ register: registry, prefix: 'latentstage_' });
  // Node's delay histogram records whole intervals between its timer's runs (the 10 ms interval
  // plus the delay), and so does prom-client's latentstage_nodejs_eventloop_lag_* built on it: an
  // idle loop reads p50 = 10 ms there. This gauge subtracts the interval, so it reads how late a
  // due timer ran, and covers the time since the last scrape.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const lateness = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1000;
  const m = {
    registry,
    eventLoopDelay: new Gauge({
      name: 'latentstage_event_loop_delay_seconds',
      help: 'How late the event loop ran a due timer since the last scrape (0.5, 0.99 quantiles and max)',
      labelNames: ['quantile'],
      registers: [registry],
      collect() {
        if (loop.count === 0) return;
        this.set({ quantile: '0.5' }, lateness(loop.percentile(50)));
        this.set({ quantile: '0.99' }, lateness(loop.percentile(99)));
        this.set({ quantile: 'max' }, lateness(loop.max));
        loop.reset();
      },
    }),
    frames: new Counter({ name: 'latentstage_frames_total', help: 'Frames generated', registers: [registry] }),
    skipped: new Counter({
      name: 'latentstage_frames_skipped_total',
      help: 'Frame slots skipped because generation fell behind the target rate, by cause: runtime (its frames were still being made when the slot came) or loop (the event loop woke up more than a slot late)',
      labelNames: ['cause'],
      registers: [registry],
    }),
    nonFinite: new Counter({ name: 'latentstage_frames_nonfinite_total', help: 'Frames whose model output held NaN or infinite values: never sent, the last good frame stays up', registers: [registry] }),
    frameFailures: new Counter({ name: 'latentstage_frame_failures_total', help: 'Frames that failed to generate (the loop retries with backoff, holding the last frame)', registers: [registry] }),
    fps: new Gauge({ name: 'latentstage_fps', help: 'Measured frames per second (last second)', registers: [registry] }),
    targetFps: new Gauge({ name: 'latentstage_target_fps', help: 'Target frames per second (0 = uncapped)', registers: [registry] }),
    frameTime: new Histogram({
      name: 'latentstage_frame_seconds',
      help: 'Time to generate one frame (engine step + generator + conversion)',
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.033, 0.066, 0.1, 0.25, 1],
      registers: [registry],
    }),
    viewers: new Gauge({ name: 'latentstage_viewers', help: 'Connected frame viewers', labelNames: ['surface'], registers: [registry] }),
    viewerDropped: new Counter({ name: 'latentstage_viewer_frames_dropped_total', help: 'Frames a slow viewer never got because a newer one replaced it', registers: [registry] }),
    sent: new Counter({ name: 'latentstage_viewer_frames_sent_total', help: 'Frames sent to viewers', registers: [registry] }),
    encodes: new Counter({ name: 'latentstage_encodes_total', help: 'Frame encodes (one per frame and requested format/size)', registers: [registry] }),
    runtimeCrashes: new Counter({ name: 'latentstage_runtime_worker_crashes_total', help: 'Crashes of the runtime worker thread or the torch runtime child process (each one is restarted)', registers: [registry] }),
    staleEncodes: new Counter({ name: 'latentstage_encodes_stale_total', help: 'Encodes dropped or never started because a newer frame of the same size existed', registers: [registry] }),
    commands: new Counter({ name: 'latentstage_commands_total', help: 'Commands applied', labelNames: ['surface', 'type'], registers: [registry] }),
    errors: new Counter({ name: 'latentstage_errors_total', help: 'Rejected inputs and failures', labelNames: ['surface'], registers: [registry] }),
    textDropped: new Counter({ name: 'latentstage_ws_text_coalesced_total', help: 'State/stats messages a slow WebSocket client never got because a newer one replaced it', labelNames: ['kind'], registers: [registry] }),
    slowClients: new Counter({ name: 'latentstage_ws_slow_clients_closed_total', help: 'WebSocket clients disconnected for not reading their replies', registers: [registry] }),
    backlogSources,
    backlog: new Gauge({
      name: 'latentstage_ws_backlog_bytes',
      help: 'Largest unsent backlog (bytes) of any one WebSocket client, by surface',
      labelNames: ['surface'],
      registers: [registry],
      collect() {
        for (const [surface, read] of backlogSources) this.set({ surface }, read());
      },
    }),
    uncaught: new Counter({ name: 'latentstage_uncaught_total', help: 'Uncaught exceptions and unhandled rejections caught by the last-resort guard', labelNames: ['kind'], registers: [registry] }),
    oscPackets: new Counter({ name: 'latentstage_osc_packets_total', help: 'OSC datagrams received, by result (accepted, malformed, oversize, denied, rate_limited)', labelNames: ['result'], registers: [registry] }),
    oscMessages: new Counter({ name: 'latentstage_osc_messages_total', help: 'OSC messages handled, by result (applied, coalesced, rejected, unknown)', labelNames: ['result'], registers: [registry] }),
  };
  // both causes read 0 from the start, so a dashboard sees a series rather than nothing
  for (const cause of ['runtime', 'loop']) m.skipped.inc({ cause }, 0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

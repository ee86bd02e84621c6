/**
 * The broker's Prometheus metrics (`ibmvmc serve --metrics`): the broker's
 * hooks backed by prom-client, and the HTTP server that serves them.
 */
export { startMetricsServer, type MetricsServer } from './metrics-server';
export {
  METRIC_PREFIX,
  REQUEST_DURATION_BUCKETS,
  createPrometheusMetrics,
  targetLabel,
} from './prometheus-metrics';
export {
  formatMetricsAddress,
  parseMetricsAddress,
  type MetricsListenAddress,
} from './listen-address';

"""The app's server: the labs loaded once, the shared attack queue, replicas, the load test."""

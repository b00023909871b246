"""The gateway: public HTTP API, job queue and the one pipeline that orders the stages."""

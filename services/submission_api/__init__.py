"""submission_api."""

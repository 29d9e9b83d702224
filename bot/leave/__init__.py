"""Leave reports (请假/销假): the form, routing to the right approver, decisions, returns, reminders."""

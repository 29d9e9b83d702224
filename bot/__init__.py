"""zhengwu-bot: the application, its configuration, storage and the domain services."""

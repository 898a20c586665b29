"""numbers-api: the organizations' agents and phone numbers, and the events that announce them."""

"""The sending host of one message: its HELO name's SPF record and its reverse DNS."""

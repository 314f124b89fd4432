"""MQTT collector: fridge and freezer sensors, door sensors, smart shelves and scales.

Public surface for the agent:
- config.MqttSettings: the `mqtt` config section;
- subscriber.MqttSubscriber: start()/stop(), `connected`, `stats`, publish_alert();
- messages.ScaleSpec: grams per unit and tare for a scale's sku.
"""

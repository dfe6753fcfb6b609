import type { MqttClient } from 'mqtt';

/** The SUBACK's return codes (128: refused); MQTT.js rejects subscribeAsync on any refusal, with the packet attached. */
export async function grantedQos(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((grant) => grant.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: Array<number | { reasonCode?: number }> } }).packet;
    if (!packet?.granted) throw error;
    return packet.granted.map((grant) => (typeof grant === 'number' ? grant : (grant.reasonCode ?? -1)));
  }
}

/** SQL for writing vip_senders from other statements (erasure), inbound/priority being its only author. */

/** Erasure: provider $1's sender $2 leaves the VIP list. */
export const eraseVipSender = `DELETE FROM vip_senders WHERE provider = $1 AND sender_id = $2`;

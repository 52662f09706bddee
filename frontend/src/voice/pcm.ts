// Speech frames' audio: base64 of 16-bit little-endian mono PCM, decoded without any codec.

/** The bytes of a base64 string (empty for ""). */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** 16-bit little-endian PCM as Web Audio samples in [-1, 1); a trailing odd byte is ignored. */
export function pcm16ToFloat32(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
  return samples;
}

/** A speech frame's `audio` field as samples. */
export function decodePcm(audio: string): Float32Array {
  return audio ? pcm16ToFloat32(base64ToBytes(audio)) : new Float32Array(0);
}

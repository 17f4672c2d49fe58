/** The addon functions of the SSD ops (csrc/ssd_bindings.cpp). Pointers are device pointers; the first argument is the stream. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SsdCudaAddon {}

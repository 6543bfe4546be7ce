// hadmc_hal: the hardware abstraction layer. Sources live in src/; this file anchors the library
// so it links even when built without optional parts.
namespace hadmc::hal {
const char* LibraryName() { return "hadmc_hal"; }
}  // namespace hadmc::hal

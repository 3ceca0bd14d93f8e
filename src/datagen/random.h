// The random numbers of the synthetic data: splitmix64, tiny, fast, and identical on every
// platform (std:: distributions are not), which keeps a seed's output stable across compilers.
//
// Thread-safety: not thread-safe; one per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace nlk::datagen {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  double Gaussian() {
    // Box-Muller; the spare value is dropped for simplicity of state.
    double u1 = Uniform();
    double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace nlk::datagen

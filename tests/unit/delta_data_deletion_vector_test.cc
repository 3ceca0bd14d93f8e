#include <gtest/gtest.h>

#include "delta/data/deletion_vector.h"
#include "delta/data/z85.h"
#include "delta_data_test_store.h"

namespace nlk::delta::data {
namespace {

TEST(Z85, MatchesTheZeroMqTestVector) {
  const std::string bytes("\x86\x4F\xD2\x6F\xB5\x59\xF7\x5B", 8);
  EXPECT_EQ(*Z85Encode(bytes), "HelloWorld");
  EXPECT_EQ(*Z85Decode("HelloWorld"), bytes);
}

TEST(Z85, RejectsBadInput) {
  EXPECT_FALSE(Z85Encode("abc").ok());     // not a multiple of 4
  EXPECT_FALSE(Z85Decode("Hello1").ok());  // not a multiple of 5
  EXPECT_FALSE(Z85Decode("Hell\"").ok());  // outside the alphabet
  EXPECT_FALSE(Z85Decode("#####").ok());   // overflows 32 bits
}

TEST(DeletionVector, DecodesTheSpecInlineExample) {
  DeletionVectorDescriptor descriptor;
  descriptor.storage_type = 'i';
  descriptor.path_or_inline_dv = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";
  descriptor.size_in_bytes = 40;
  descriptor.cardinality = 6;
  testing::TempDirectory directory;
  testing::LocalTestStore store(directory.path());
  auto vector = LoadDeletionVector(store, descriptor);
  ASSERT_TRUE(vector.ok()) << vector.status();
  EXPECT_EQ(vector->ToVector(), (std::vector<uint64_t>{3, 4, 7, 11, 18, 29}));
  EXPECT_EQ(vector->DeletedInRange(4, 10), (std::vector<int64_t>{0, 3, 7}));  // rows 4, 7, 11

  descriptor.cardinality = 5;
  auto wrong = LoadDeletionVector(store, descriptor);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("cardinality"), std::string::npos);
}

TEST(DeletionVector, DerivesTheSpecRelativePath) {
  DeletionVectorDescriptor descriptor;
  descriptor.storage_type = 'u';
  descriptor.path_or_inline_dv = "ab^-aqEH.-t@S}K{vb[*k^";
  EXPECT_EQ(*DeletionVectorPath(descriptor, "s3://mytable"),
            "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  descriptor.path_or_inline_dv = "^-aqEH.-t@S}K{vb[*k^";
  EXPECT_EQ(*DeletionVectorPath(descriptor, "s3://mytable"),
            "deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  descriptor.storage_type = 'p';
  descriptor.path_or_inline_dv =
      "s3://mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin";
  EXPECT_EQ(*DeletionVectorPath(descriptor, "s3://mytable/"),
            "deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  EXPECT_FALSE(DeletionVectorPath(descriptor, "s3://other").ok());
}

TEST(DeletionVector, InlineRoundTripAcrossBuckets) {
  std::vector<uint64_t> rows = {0, 1, 65535, 65536, 1'000'000, (uint64_t{1} << 32) + 5};
  auto descriptor = InlineDescriptor(DeletionVector::FromRows(rows));
  ASSERT_TRUE(descriptor.ok());
  testing::TempDirectory directory;
  testing::LocalTestStore store(directory.path());
  auto loaded = LoadDeletionVector(store, *descriptor);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->ToVector(), rows);
  EXPECT_TRUE(loaded->Contains((uint64_t{1} << 32) + 5));
  EXPECT_FALSE(loaded->Contains(2));
}

TEST(DeletionVector, FileRoundTripAndCorruption) {
  testing::TempDirectory directory;
  testing::LocalTestStore store(directory.path());
  auto first = DeletionVector::FromRows({2, 5, 9});
  std::vector<uint64_t> many;
  for (uint64_t row = 100; row < 20'000; row += 3) many.push_back(row);
  auto second = DeletionVector::FromRows(many);
  std::vector<int32_t> offsets;
  std::string file = EncodeDeletionVectorFile({first.Serialize(), second.Serialize()}, &offsets);
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_EQ(offsets[0], 1);  // right after the version byte
  UuidBytes uuid = RandomUuid();
  std::string path = "xy/deletion_vector_" + UuidToString(uuid) + ".bin";
  ASSERT_TRUE(store.Write(path, arrow::Buffer::FromString(file)).ok());

  auto descriptor = RelativePathDescriptor(uuid, "xy", offsets[1],
                                           static_cast<int32_t>(second.Serialize().size()),
                                           static_cast<int64_t>(many.size()));
  ASSERT_TRUE(descriptor.ok());
  EXPECT_EQ(*DeletionVectorPath(*descriptor, store.root_uri()), path);
  auto loaded = LoadDeletionVector(store, *descriptor);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->ToVector(), many);

  // Flip one byte inside the second vector's bitmap: the checksum must catch it.
  std::string corrupt = file;
  corrupt[offsets[1] + 20] ^= 0x01;
  ASSERT_TRUE(store.Write(path, arrow::Buffer::FromString(corrupt)).ok());
  auto failed = LoadDeletionVector(store, *descriptor);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("checksum"), std::string::npos);
  EXPECT_NE(failed.status().message().find(path), std::string::npos);

  // A missing file is an error naming it.
  ASSERT_TRUE(store.Delete(path).ok());
  auto missing = LoadDeletionVector(store, *descriptor);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

TEST(DeletionVector, RejectsGarbage) {
  EXPECT_FALSE(DeletionVector::Deserialize("short").ok());
  std::string bad_magic(12, '\0');
  EXPECT_FALSE(DeletionVector::Deserialize(bad_magic).ok());
  std::string truncated = DeletionVector::FromRows({1, 2, 3}).Serialize();
  truncated.resize(truncated.size() - 2);
  EXPECT_FALSE(DeletionVector::Deserialize(truncated).ok());
}

TEST(Crc32, MatchesTheStandardCheckValue) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace nlk::delta::data

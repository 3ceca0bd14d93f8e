// Parsing of the S3 XML responses and the signing helpers; no server needed.
#include <gtest/gtest.h>

#include "storage/s3_client.h"
#include "storage/s3_xml.h"

namespace nlk::storage {
namespace {

TEST(XmlUnescapeTest, EntitiesAndCharacterReferences) {
  EXPECT_EQ(XmlUnescape("a&amp;b&lt;c&gt;d&quot;e&apos;f").ValueOrDie(), "a&b<c>d\"e'f");
  EXPECT_EQ(XmlUnescape("&#34;etag&#34;").ValueOrDie(), "\"etag\"");
  EXPECT_EQ(XmlUnescape("&#xE9;&#x1F600;").ValueOrDie(), "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(XmlUnescape("plain").ValueOrDie(), "plain");
  EXPECT_FALSE(XmlUnescape("broken &amp").ok());
  EXPECT_FALSE(XmlUnescape("&bogus;").ok());
  EXPECT_FALSE(XmlUnescape("&#x110000;").ok());
}

TEST(ParseIso8601Test, MillisecondsSinceEpoch) {
  EXPECT_EQ(ParseIso8601Milliseconds("1970-01-01T00:00:00.000Z").ValueOrDie(), 0);
  EXPECT_EQ(ParseIso8601Milliseconds("2026-01-02T03:04:05.678Z").ValueOrDie(), 1767323045678);
  EXPECT_EQ(ParseIso8601Milliseconds("2026-01-02T03:04:05Z").ValueOrDie(), 1767323045000);
  EXPECT_EQ(ParseIso8601Milliseconds("2026-01-02T03:04:05.5Z").ValueOrDie(), 1767323045500);
  EXPECT_FALSE(ParseIso8601Milliseconds("yesterday").ok());
  EXPECT_FALSE(ParseIso8601Milliseconds("2026-01-02 03:04:05Z").ok());
}

TEST(ParseListObjectsV2Test, PageWithEscapedKeysAndToken) {
  const std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>)"
      R"(<Prefix>t/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>)"
      R"(<IsTruncated>true</IsTruncated><NextContinuationToken>abc&amp;d=</NextContinuationToken>)"
      R"(<Contents><Key>t/a&amp;b &lt;IsTruncated&gt;</Key>)"
      R"(<LastModified>2026-01-02T03:04:05.678Z</LastModified><ETag>&#34;x&#34;</ETag>)"
      R"(<Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>)"
      R"(<Contents><Key>t/b</Key><LastModified>1970-01-01T00:00:01.000Z</LastModified>)"
      R"(<Size>0</Size></Contents></ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "t/a&b <IsTruncated>");
  EXPECT_EQ(page->objects[0].size, 12);
  EXPECT_EQ(page->objects[0].last_modified_ms, 1767323045678);
  EXPECT_EQ(page->objects[1].key, "t/b");
  EXPECT_EQ(page->objects[1].last_modified_ms, 1000);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "abc&d=");
}

TEST(ParseListObjectsV2Test, EmptyAndMalformed) {
  auto empty = ParseListObjectsV2(
      "<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->objects.empty());
  EXPECT_FALSE(empty->truncated);
  EXPECT_FALSE(ParseListObjectsV2("<Error><Code>AccessDenied</Code></Error>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key></Contents>"
                                  "</ListBucketResult>")
                   .ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                  "</ListBucketResult>")
                   .ok());
}

TEST(ParseS3ErrorTest, CodeAndMessage) {
  const S3ErrorBody error = ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code><Message>At least one "
      "of the pre-conditions you specified did not hold</Message><Key>a&amp;b</Key></Error>");
  EXPECT_EQ(error.code, "PreconditionFailed");
  EXPECT_EQ(error.message, "At least one of the pre-conditions you specified did not hold");
  EXPECT_TRUE(ParseS3Error("").code.empty());
}

TEST(S3UriEncodeTest, SigV4Rules) {
  EXPECT_EQ(S3UriEncode("a b+c/d=e~f_g.h-i", true), "a%20b%2Bc/d%3De~f_g.h-i");
  EXPECT_EQ(S3UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(S3UriEncode("\xC3\xA9", true), "%C3%A9");
}

TEST(S3ClientTest, UrlIsPathStyleWithCanonicalQuery) {
  S3Settings settings;
  settings.scheme = "http";
  settings.host = "127.0.0.1:9000";
  S3Client client(settings);
  S3Request request;
  request.bucket = "neuralake";
  request.query = {{"start-after", "t/a b"}, {"list-type", "2"}, {"prefix", "t/"}};
  EXPECT_EQ(client.Url(request),
            "http://127.0.0.1:9000/neuralake?list-type=2&prefix=t%2F&start-after=t%2Fa%20b");
  request.query.clear();
  request.key = "t/_delta_log/0.json";
  EXPECT_EQ(client.Url(request), "http://127.0.0.1:9000/neuralake/t/_delta_log/0.json");
}

}  // namespace
}  // namespace nlk::storage

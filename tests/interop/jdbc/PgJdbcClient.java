// What the PostgreSQL JDBC driver reads from `nlk serve`, printed as tab-separated lines for
// tests/interop/test_serve_postgres.py to compare with /api/sql: the metadata a JDBC tool shows
// (tables, columns), a prepared statement with parameters run past the driver's prepareThreshold
// (so the last runs are server-side prepared with binary results), a cursor read in slices
// (portals with a row limit inside a transaction), and the SQLSTATE of a failing query.
//
// Usage: java -Duser.timezone=UTC -cp postgresql.jar:DIR PgJdbcClient JDBC_URL
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;

public class PgJdbcClient {
  public static void main(String[] args) throws Exception {
    try (Connection connection = DriverManager.getConnection(args[0], "jdbc", "")) {
      DatabaseMetaData metadata = connection.getMetaData();
      System.out.println("product\t" + metadata.getDatabaseProductName() + "\t"
          + metadata.getDatabaseProductVersion());
      try (ResultSet tables = metadata.getTables(null, null, "%", new String[] {"TABLE"})) {
        while (tables.next()) {
          System.out.println("table\t" + tables.getString("TABLE_SCHEM") + "\t"
              + tables.getString("TABLE_NAME"));
        }
      }
      try (ResultSet columns = metadata.getColumns(null, null, "samples", "%")) {
        while (columns.next()) {
          System.out.println("column\t" + columns.getString("COLUMN_NAME") + "\t"
              + columns.getString("TYPE_NAME") + "\t" + columns.getInt("DATA_TYPE") + "\t"
              + columns.getInt("ORDINAL_POSITION"));
        }
      }
      String sql = "SELECT device_id, channel, timestamp, voltage_uv FROM samples"
          + " WHERE channel = ? AND device_id = ? AND timestamp >= ? ORDER BY timestamp LIMIT ?";
      try (PreparedStatement statement = connection.prepareStatement(sql)) {
        statement.setInt(1, 2);
        statement.setString(2, "device-001");
        statement.setTimestamp(3, Timestamp.valueOf("2026-01-01 00:00:01"));
        statement.setInt(4, 5);
        for (int run = 1; run <= 6; run++) {
          try (ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
              System.out.println("row\t" + run + "\t" + rows.getString(1) + "\t" + rows.getInt(2)
                  + "\t" + rows.getTimestamp(3).toInstant().toEpochMilli() + "\t"
                  + rows.getFloat(4));
            }
          }
        }
      }
      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        statement.setFetchSize(7);
        long count = 0;
        long sum = 0;
        try (ResultSet rows = statement.executeQuery(
                 "SELECT sequence FROM samples ORDER BY timestamp, device_id, channel")) {
          while (rows.next()) {
            count++;
            sum += rows.getLong(1);
          }
        }
        System.out.println("cursor\t" + count + "\t" + sum);
      }
      connection.commit();
      connection.setAutoCommit(true);
      try (Statement statement = connection.createStatement()) {
        statement.executeQuery("SELECT nope FROM samples");
      } catch (SQLException error) {
        System.out.println("error\t" + error.getSQLState());
      }
    }
  }
}

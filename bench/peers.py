"""peers.py: one peer engine (DuckDB, Polars or PySpark local mode) running ember-bench's queries,
driven by bench/compare over stdin/stdout: one query name in, one JSON line out.

Timing is in-process, like ember-bench's: from reading the CSV file to the result in this
process's memory (columnar where the engine offers it), with engine start-up excluded.
"""
import argparse
import json
import statistics
import sys
import time

CACHED_RUNS = 10  # Q6: Q1 this many times on the cached data, median (as ember-bench)
RANGE_END = 10**9
RANGE_SLICES = 64


def has_pyarrow():
    try:
        import pyarrow  # noqa: F401
        return True
    except ImportError:
        return False


class DuckDB:
    name = "duckdb"

    def __init__(self, args):
        import duckdb
        self.version = duckdb.__version__
        self.con = duckdb.connect()  # in-memory; threads default to the core count
        self.arrow = has_pyarrow()
        self.fetch = "arrow" if self.arrow else "python rows"

    def _source(self, path):
        return "read_csv('%s', header = true)" % path.replace("'", "''")

    def _result(self, sql):
        rel = self.con.execute(sql)
        if self.arrow:
            # The method's name changed across DuckDB releases.
            for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
                if hasattr(rel, method):
                    return getattr(rel, method)().num_rows
        return len(rel.fetchall())

    def group_count(self, source, key):
        return self._result("SELECT %s, count(*) AS count FROM %s GROUP BY %s" % (key, source, key))

    def query(self, name, path, zipf):
        src = self._source(path)
        if name == "Q1":
            return self.group_count(src, "category")
        if name == "Q1z":
            return self.group_count(self._source(zipf), "category")
        if name == "Q2":
            return self.con.execute("SELECT count(*) FROM %s" % src).fetchone()[0]
        if name == "Q3":
            self.con.execute("SELECT sum(price * qty) FROM %s" % src).fetchone()
            return 1
        if name == "Q4":
            return self.group_count(src, "user_id")
        if name == "Q5":
            return self._result(
                "SELECT category, count(*) AS count, sum(qty) AS sum_qty, min(price) AS min_price, "
                "max(price) AS max_price, avg(price) AS mean_price FROM %s GROUP BY category" % src)
        if name == "Q7":
            self.con.execute("SELECT sum(range * 2) FROM range(0, %d)" % RANGE_END).fetchone()
            return 1
        raise ValueError(name)

    def cached(self, path):
        self.con.execute("CREATE OR REPLACE TABLE sales AS SELECT * FROM %s" % self._source(path))
        return lambda: self.group_count("sales", "category"), lambda: self.con.execute(
            "DROP TABLE sales")


class Polars:
    name = "polars"

    def __init__(self, args):
        import polars
        self.pl = polars
        self.version = polars.__version__
        self.fetch = "polars DataFrame"

    def query(self, name, path, zipf):
        pl = self.pl
        if name in ("Q1", "Q1z"):
            scan = pl.scan_csv(zipf if name == "Q1z" else path)
            return scan.group_by("category").agg(pl.len().alias("count")).collect().height
        scan = pl.scan_csv(path)
        if name == "Q2":
            return scan.select(pl.len()).collect().item()
        if name == "Q3":
            scan.select((pl.col("price") * pl.col("qty")).sum()).collect()
            return 1
        if name == "Q4":
            return scan.group_by("user_id").agg(pl.len().alias("count")).collect().height
        if name == "Q5":
            price = pl.col("price")
            return scan.group_by("category").agg(
                pl.len().alias("count"), pl.col("qty").sum().alias("sum_qty"),
                price.min().alias("min_price"), price.max().alias("max_price"),
                price.mean().alias("mean_price")).collect().height
        if name == "Q7":
            pl.select((pl.int_range(0, RANGE_END, dtype=pl.Int64) * 2).sum()).item()
            return 1
        raise ValueError(name)

    def cached(self, path):
        frame = self.pl.read_csv(path)
        pl = self.pl
        return lambda: frame.group_by("category").agg(pl.len().alias("count")).height, lambda: None


class PySpark:
    name = "pyspark"

    # An explicit schema: inferSchema would read the whole file once more before each query.
    SCHEMA = "id BIGINT, category STRING, region STRING, user_id BIGINT, qty BIGINT, price DOUBLE"

    def __init__(self, args):
        import pyspark
        from pyspark.sql import SparkSession
        from pyspark.sql import functions
        self.F = functions
        self.version = pyspark.__version__
        self.spark = (SparkSession.builder.master("local[*]").appName("ember-compare")
                      .config("spark.driver.memory", args.spark_memory)
                      .config("spark.ui.enabled", "false")
                      .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        # DataFrame.toArrow (Spark 4) hands the result over as Arrow, like ember's table.
        self.arrow = has_pyarrow() and hasattr(self.spark.range(1), "toArrow")
        self.fetch = "arrow (toArrow)" if self.arrow else "python rows (collect)"

    def _read(self, path):
        return self.spark.read.csv(path, header=True, schema=self.SCHEMA)

    def _result(self, frame):
        return frame.toArrow().num_rows if self.arrow else len(frame.collect())

    def query(self, name, path, zipf):
        F = self.F
        if name in ("Q1", "Q1z"):
            return self._result(self._read(zipf if name == "Q1z" else path)
                                .groupBy("category").count())
        df = self._read(path)
        if name == "Q2":
            return df.count()
        if name == "Q3":
            df.agg(F.sum(F.col("price") * F.col("qty"))).collect()
            return 1
        if name == "Q4":
            return self._result(df.groupBy("user_id").count())
        if name == "Q5":
            return self._result(df.groupBy("category").agg(
                F.count(F.lit(1)).alias("count"), F.sum("qty"), F.min("price"), F.max("price"),
                F.mean("price")))
        if name == "Q7":
            self.spark.range(0, RANGE_END, 1, RANGE_SLICES).select(F.sum(F.col("id") * 2)).collect()
            return 1
        raise ValueError(name)

    def cached(self, path):
        df = self._read(path).cache()
        df.count()
        return lambda: self._result(df.groupBy("category").count()), lambda: df.unpersist(True)


ENGINES = {"duckdb": DuckDB, "polars": Polars, "pyspark": PySpark}


def run(engine, name, args):
    """One trial; returns the JSON object to print."""
    if name == "Q1z" and not args.zipf:
        return {"query": name, "skipped": True, "reason": "no --zipf file given"}
    if name == "Q6":
        started = time.perf_counter()
        once, release = engine.cached(args.file)
        load = time.perf_counter() - started
        runs = []
        for _ in range(CACHED_RUNS):
            started = time.perf_counter()
            result_rows = once()
            runs.append(time.perf_counter() - started)
        release()
        return {"query": name, "seconds": statistics.median(runs), "load_seconds": load,
                "runs": runs, "result_rows": result_rows}
    started = time.perf_counter()
    result_rows = engine.query(name, args.file, args.zipf)
    return {"query": name, "seconds": time.perf_counter() - started, "result_rows": result_rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=sorted(ENGINES), required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--zipf")
    parser.add_argument("--spark-memory", default="6g")
    args = parser.parse_args()
    engine = ENGINES[args.engine](args)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "engine": engine.name, "version": engine.version,
                          "fetch": engine.fetch}) + "\n")
    out.flush()
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        if name == "quit":
            break
        try:
            reply = run(engine, name, args)
        except Exception as error:  # one failed query must not end the others
            first = (str(error).strip().splitlines() or [""])[0]
            reply = {"query": name, "error": "%s: %s" % (type(error).__name__, first)}
        reply["engine"] = engine.name
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()

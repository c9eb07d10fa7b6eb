-- One PostgreSQL server, two databases: bantin's own and Prefect's (run once by the postgres image).
CREATE DATABASE prefect OWNER bantin;

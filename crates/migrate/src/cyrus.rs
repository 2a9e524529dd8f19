//! Cyrus 2.4/3.x spool and databases: readers and the import driver.

"""Run results and what is written from them: results.json, junit.xml, report.html, evidence.zip."""

"""The command line and the offline tools behind it: demo, doctor, evaluation,
calibration and cost-log reports."""

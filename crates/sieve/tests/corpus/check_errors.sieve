require ["relational", "comparator-i;ascii-numeric"];
if header :contains :comparator "i;ascii-numeric" "x" "1" { fileinto :copy "a"; }
else { keep; } elsif true { stop; }

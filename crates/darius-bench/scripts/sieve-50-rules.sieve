# darius-bench: a 50-rule filter for `darius-bench lmtp --sieve` (see docs/benchmarks.md, "Sieve").
# Shaped like a busy user's rules: junk and phishing first, then senders, lists, sizes and body
# phrases, and the few rules the benchmark corpus actually meets last. About half of the corpus's
# messages match one of rules 45-50 and the other half none, so nearly every delivery runs all 50
# tests (four of them over the body). Each matching rule files into a folder created on first use.

require ["fileinto", "envelope", "body", "mailbox"];

# 1-10: junk by subject
if header :contains "Subject" ["viagra", "cialis"] { fileinto :create "Junk"; stop; }
if header :contains "Subject" "lottery winner" { fileinto :create "Junk"; stop; }
if header :contains "Subject" ["URGENT: wire", "wire transfer request"] { fileinto :create "Junk"; stop; }
if header :contains "Subject" "[SPAM]" { fileinto :create "Junk"; stop; }
if header :contains "Subject" ["crypto giveaway", "double your bitcoin"] { fileinto :create "Junk"; stop; }
if header :contains "Subject" "you have won" { fileinto :create "Junk"; stop; }
if header :contains "Subject" ["act now", "limited time offer"] { fileinto :create "Junk"; stop; }
if header :contains "Subject" "verify your account" { fileinto :create "Junk"; stop; }
if header :contains "Subject" ["password expires", "mailbox is full"] { fileinto :create "Junk"; stop; }
if header :matches "Subject" "*unclaimed*parcel*" { fileinto :create "Junk"; stop; }

# 11-18: junk and phishing by sender domain
if address :domain :is "From" "spam.example" { fileinto :create "Junk"; stop; }
if address :domain :is "From" ["phish.example", "phish.test"] { fileinto :create "Junk"; stop; }
if address :domain :is "From" "bulkmailer.example" { fileinto :create "Junk"; stop; }
if address :domain :is ["From", "Sender"] "promo.example.net" { fileinto :create "Junk"; stop; }
if address :domain :contains "From" "casino" { fileinto :create "Junk"; stop; }
if address :domain :is "Reply-To" "harvest.example" { fileinto :create "Junk"; stop; }
if address :localpart :is "From" ["winner", "prize-desk"] { fileinto :create "Junk"; stop; }
if address :is "From" "security@paypa1.example" { fileinto :create "Junk"; stop; }

# 19-22: by envelope
if envelope :domain :is "from" "bulk.example" { fileinto :create "Bulk"; stop; }
if envelope :localpart :is "from" ["noreply-marketing", "newsletter"] { fileinto :create "Bulk"; stop; }
if envelope :is "from" "bounces@mailer.example.org" { fileinto :create "Bulk"; stop; }
if envelope :domain :is "to" "archive.example" { fileinto :create "Archive"; stop; }

# 23-28: mailing lists not in the corpus
if header :contains "List-Id" "announce.lists.example.org" { fileinto :create "Lists"; stop; }
if header :contains "List-Id" ["dev.lists.example.org", "users.lists.example.org"] { fileinto :create "Lists"; stop; }
if header :contains "List-Id" "<security.lists.example.net>" { fileinto :create "Lists"; stop; }
if exists "List-Unsubscribe" { fileinto :create "Newsletters"; stop; }
if header :is "Precedence" ["bulk", "junk"] { fileinto :create "Bulk"; stop; }
if header :contains "X-Mailing-List" "kernel" { fileinto :create "Lists"; stop; }

# 29-32: people
if address :is "From" "boss@corp.example" { fileinto :create "Boss"; stop; }
if address :is ["From", "Cc"] ["hr@corp.example", "payroll@corp.example"] { fileinto :create "HR"; stop; }
if address :all :is "From" "calendar-notification@corp.example" { fileinto :create "Calendar"; stop; }
if address :localpart :is "From" "jenkins" { fileinto :create "CI"; stop; }

# 33-36: spam scanner verdicts
if header :is "X-Spam-Flag" "YES" { fileinto :create "Junk"; stop; }
if header :contains "X-Spam-Status" "Yes," { fileinto :create "Junk"; stop; }
if header :contains "X-Mailer" ["Spambot", "MassMailer"] { fileinto :create "Junk"; stop; }
if header :contains "Authentication-Results" "dkim=fail" { fileinto :create "Junk"; stop; }

# 37-40: size, automatic replies
if size :over 20M { fileinto :create "Large"; stop; }
if header :is "Auto-Submitted" ["auto-replied", "auto-generated"] { fileinto :create "Auto"; stop; }
if header :contains "Subject" ["Out of office", "Automatic reply"] { fileinto :create "Auto"; stop; }
if allof (size :over 10M, exists "X-Archive") { fileinto :create "Large"; stop; }

# 41-44: body phrases (the corpus never has them: each scans the whole text)
if body :contains "unsubscribe from this list" { fileinto :create "Newsletters"; stop; }
if body :contains ["zyzzogeton", "click here to claim"] { fileinto :create "Junk"; stop; }
if body :text :contains "confidential settlement offer" { fileinto :create "Junk"; stop; }
if body :contains "your package could not be delivered" { fileinto :create "Junk"; stop; }

# 45-50: what the corpus meets
if header :contains "Subject" "Invoice" { fileinto :create "Invoices"; stop; }
if header :contains "Subject" "Security advisory" { fileinto :create "Alerts"; stop; }
if allof (address :domain :is "From" "lists.example.edu", exists "List-Id") { fileinto :create "Lists"; stop; }
if header :contains "List-Id" "lists.example.edu" { fileinto :create "Lists"; stop; }
if header :contains "Subject" "has shipped" { fileinto :create "Orders"; stop; }
if header :contains "Subject" "Weekly status" { fileinto :create "Status"; stop; }

# Inpainted test digits 0–9 (decoder seed 0, α = 0.03): per row observed top half | truth | joint |
# nested; light blue = hidden pixel or separator (decoded values below 0 shown white). Run from the repository root.
set terminal pngcairo size 560,1300 font ",11"
set output "Results/input-optimization-inpainting/digits.png"
set title "observed | truth | joint | nested (decoder seed 0, α = 0.03)"
set palette defined (-1 "#9ecae1", -0.5 "#9ecae1", -0.5 "white", 0 "white", 1 "black")
set cbrange [-1:1]
unset colorbox
unset xtics
unset ytics
set yrange [] reverse
set size ratio -1
plot "Results/input-optimization-inpainting/digits.dat" matrix with image notitle
